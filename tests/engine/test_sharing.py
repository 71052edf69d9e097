"""View tokens: explicit, read-only, revocable, expiring, stored hashed (issue #20, finding 2 and 3)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from layerlab import sharing
from layerlab.errors import LayerlabError
from layerlab.project import new_project
from layerlab.runs.store import RunStore

ALICE, BOB = "a" * 16, "b" * 16


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@pytest.fixture
def run(store):
    return store.create(new_project("sample:digits"), owner=ALICE, name="alice's run")


def test_a_token_opens_its_run_with_the_options_its_owner_chose(store, run):
    token, share = sharing.create(store, run.id, ALICE, days=7, allow_model=True)
    assert len(token) >= 43
    got = sharing.check(store, token)
    assert got is not None and got.run_id == run.id and got.allow_model and not got.allow_rows
    assert 6.9 * 86400 < got.expires - got.created <= 7 * 86400
    assert [s.id for s in sharing.shares_of(store, run.id, ALICE)] == [share.id]


def test_only_the_token_opens_it_and_the_database_never_holds_it(store, run):
    token, _ = sharing.create(store, run.id, ALICE)
    for wrong in (None, "", run.id, token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", "x" * 500):
        assert sharing.check(store, wrong) is None
    raw = (store.root / sharing.DB).read_bytes()
    with sqlite3.connect(store.root / sharing.DB) as con:
        dumped = "\n".join(con.iterdump())
    assert token.encode() not in raw and token not in dumped


def test_a_revoked_token_stops_working_and_only_its_owner_revokes_it(store, run):
    token, share = sharing.create(store, run.id, ALICE)
    assert sharing.revoke(store, share.id, BOB) is False
    assert sharing.check(store, token) is not None
    assert sharing.revoke(store, share.id, ALICE) is True
    assert sharing.check(store, token) is None
    assert sharing.shares_of(store, run.id, ALICE)[0].revoked is not None  # still listed, as revoked


def test_an_expired_token_shows_nothing(store, run, monkeypatch):
    token, _ = sharing.create(store, run.id, ALICE, days=1)
    later = time.time() + 86400 + 1
    monkeypatch.setattr(sharing.time, "time", lambda: later)
    assert sharing.check(store, token) is None


def test_a_deleted_run_takes_its_links_with_it(store, run):
    token, _ = sharing.create(store, run.id, ALICE)
    store.request_stop(run.id)
    assert store.delete(run.id, owner=ALICE)
    assert sharing.check(store, token) is None


def test_only_the_owner_shares_and_days_are_checked(store, run):
    with pytest.raises(LayerlabError, match="not one of yours"):
        sharing.create(store, run.id, BOB)
    with pytest.raises(LayerlabError, match="not one of yours"):
        sharing.create(store, "20260101-000000-abcdef", ALICE)
    with pytest.raises(LayerlabError, match="Expected a whole number between 1 and 365"):
        sharing.create(store, run.id, ALICE, days=0)
    assert sharing.shares_of(store, run.id, BOB) == []
