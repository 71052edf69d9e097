"""Owner secrets and the owner ids derived from them (issue #20, finding 1)."""

from __future__ import annotations

import pytest

from layerlab import identity, workspace
from layerlab.errors import LayerlabError


def test_a_secret_is_long_random_and_its_owner_id_is_a_one_way_digest():
    a, b = identity.new_secret(), identity.new_secret()
    assert a != b and identity.is_secret(a) and len(a) == 43
    owner = identity.owner_of(a)
    assert workspace.SESSION_ID.match(owner)  # names folders and projects like the session ids before it
    assert owner == identity.owner_of(a) and owner != identity.owner_of(b)
    assert owner not in a and a not in owner  # the id shows nothing of the secret


def test_the_upload_folder_is_named_by_the_owner_id_never_the_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    secret = identity.new_secret()
    path = workspace.save_upload(identity.owner_of(secret), "data.csv", b"a,b\n1,2\n")
    assert path.parent.name == identity.owner_of(secret)
    assert secret not in str(path)
    with pytest.raises(LayerlabError, match="Invalid session id"):  # the secret itself names no folder
        workspace.uploads_dir(secret)


@pytest.mark.parametrize("bad", [None, "", "0123456789abcdef", "x" * 42, "x" * 43 + "=", "a b" * 20, 42])
def test_anything_but_a_secret_is_refused(bad):
    assert not identity.is_secret(bad)
    with pytest.raises(ValueError, match="Invalid owner secret"):
        identity.owner_of(bad)


def test_a_signed_in_user_owns_the_same_id_on_every_device_and_no_other_user_does():
    alice = identity.user_owner("http://127.0.0.1:9/", "alice")
    assert alice == identity.user_owner("http://127.0.0.1:9/", "alice")
    assert alice != identity.user_owner("http://127.0.0.1:9/", "bob")
    assert alice != identity.user_owner("http://other-issuer/", "alice")
    assert workspace.SESSION_ID.match(alice)
    with pytest.raises(ValueError, match="issuer and a subject"):
        identity.user_owner("", "alice")


def test_who_may_see_and_change_a_run():
    assert identity.visible("me0123456789abcd", "me0123456789abcd")
    assert identity.visible(identity.CLI_OWNER, "me0123456789abcd")
    assert not identity.visible("fedcba9876543210", "me0123456789abcd")
    assert not identity.mine(identity.CLI_OWNER, "me0123456789abcd")
    assert identity.mine(None, "me0123456789abcd")
