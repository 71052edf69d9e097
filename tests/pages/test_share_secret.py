"""Issue #20, finding 1: the owner secret is the whole session, so nothing a second user can see or
download holds it, and nothing they can see (an upload folder's name, a run's owner id) gives it away.

Before: uploads lived under `uploads/<owner key>/`, the run's project.json kept that path, and
`/runs?p=<key>` opened the owner's session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from layerlab import identity
from layerlab.project import new_project
from layerlab.runs.files import PROJECT
from layerlab.runs.store import RunStore
from layerlab.samples import get_sample

pytestmark = pytest.mark.usefixtures("home")


def _everything_under(root: Path) -> str:
    """Every path and every file's bytes under root, as text."""
    out = []
    for path in root.rglob("*"):
        out.append(str(path))
        if path.is_file():
            out.append(path.read_bytes().decode("latin-1"))
    return "\n".join(out)


def _page_text(at) -> str:
    """Everything the page shows (the cookie script is sent once, on the first run, to this browser only)."""
    return "\n".join(str(getattr(e, "value", "")) for e in at.main) + "\n".join(str(e.value) for e in at.sidebar
                                                                                  if hasattr(e, "value"))


def test_nothing_stored_shown_or_downloaded_holds_the_owner_secret(app, home: Path):
    csv = get_sample("penguins").load().to_csv(index=False).encode()
    at = app("pages/data.py")
    at.file_uploader(key="data.upload").set_value(("penguins.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error
    secret, me = at.session_state["secret"], at.session_state["pid"]
    assert identity.is_secret(secret) and me == identity.owner_of(secret)

    spec = at.session_state["project"]
    assert Path(spec.data.source).parent.name == me  # the upload folder: the derived id
    run = RunStore().create(spec, owner=me, name="shared later")  # what Start does before the worker
    downloads = run.files.read_bytes(PROJECT)  # "Download the project"; the script's DATA is this data.source
    for page in ("pages/train.py", "pages/runs.py", "pages/data.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert secret not in _page_text(at), page
    assert secret not in downloads.decode()
    assert secret not in _everything_under(home)  # no file, folder name or log line
    assert secret not in str(dict(at.query_params)) and "p" not in at.query_params


def test_the_owner_id_seen_in_a_path_opens_nothing(app, home: Path):
    """What a second user could read from a downloaded project's path (the owner id) is not a key."""
    owner = identity.owner_of(identity.new_secret())
    run = RunStore().create(new_project("sample:digits"), owner=owner, name="the owner's run")
    RunStore().request_stop(run.id)

    for query in ({"p": owner}, {"p": owner, "run": run.id}):
        at = app("pages/runs.py", query_params=query)
        assert not at.exception
        assert at.session_state["pid"] != owner
        assert "No runs yet" in at.info[0].value  # the owner's run is not listed
        assert "p" not in at.query_params and "run" not in at.query_params
