"""View tokens: a run's owner shares it read-only with a link; the link's token is the only key.

A token is `secrets.token_urlsafe(32)`, shown once (in the link) and stored only as its SHA-256,
so a copy of the database opens nothing. Each token names one run, expires, can be revoked, and
says whether its holder may download the model and see rows of the test set. `check` is the one
question every client asks ("what does this token let me see?"); it answers None for a token that
is unknown, revoked or expired, or whose run is gone.

    token, share = create(store, run_id, owner, allow_model=True)
    check(store, token)                  # Share, or None
    revoke(store, share.id, owner)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from layerlab.errors import LayerlabError
from layerlab.identity import mine
from layerlab.runs.store import RunStore
from layerlab.settings import limits

DB = "shares.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    allow_model INTEGER NOT NULL,
    allow_rows INTEGER NOT NULL,
    revoked REAL
);
CREATE INDEX IF NOT EXISTS shares_run ON shares(run_id);
"""
MAX_DAYS = 365


@dataclass(frozen=True)
class Share:
    """One view token's record (never the token itself)."""

    id: str
    run_id: str
    owner: str
    created: float
    expires: float
    allow_model: bool
    allow_rows: bool
    revoked: float | None = None

    @property
    def valid(self) -> bool:
        return self.revoked is None and time.time() < self.expires


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _db(store: RunStore) -> sqlite3.Connection:
    con = sqlite3.connect(Path(store.root) / DB, timeout=store.busy_timeout_s, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(_SCHEMA)
    con.row_factory = sqlite3.Row
    return con


def _reader(store: RunStore) -> sqlite3.Connection | None:
    """For reads: None when no link was ever made; on a disk that refuses writes (full, read-only), the file as
    it is, so the Runs page that lists a run's links still opens there (issue #20, finding 5)."""
    path = Path(store.root) / DB
    if not path.is_file():
        return None
    try:
        return _db(store)
    except sqlite3.OperationalError as exc:
        if any(w in str(exc).lower() for w in ("locked", "busy")):
            raise
        con = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con


def _share(row: sqlite3.Row) -> Share:
    return Share(id=row["id"], run_id=row["run_id"], owner=row["owner"], created=row["created"],
                 expires=row["expires"], allow_model=bool(row["allow_model"]), allow_rows=bool(row["allow_rows"]),
                 revoked=row["revoked"])


def create(store: RunStore, run_id: str, owner: str, *, days: int | None = None, allow_model: bool = False,
           allow_rows: bool = False) -> tuple[str, Share]:
    """Make a view token for the owner's run; returns (token, its record). The token is not kept anywhere."""
    run = store.get(run_id)
    if run is None or not mine(run.owner, owner):
        raise LayerlabError(f"Run {run_id!r} is not one of yours, so it cannot be shared from this session.",
                            "Share a run from the Runs page of the session (or account) that started it.")
    days = limits().share_days if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise LayerlabError(f"Invalid value received for argument `days`. Expected a whole number between 1 and "
                            f"{MAX_DAYS}. Received: days={days!r}")
    token, now = secrets.token_urlsafe(32), time.time()
    share = Share(id=secrets.token_hex(6), run_id=run_id, owner=owner, created=now, expires=now + days * 86400,
                  allow_model=allow_model, allow_rows=allow_rows)
    with closing(_db(store)) as con:
        con.execute("INSERT INTO shares (id, token_hash, run_id, owner, created, expires, allow_model, allow_rows) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (share.id, _hash(token), run_id, owner, now, share.expires,
                                                        int(allow_model), int(allow_rows)))
    return token, share


def shares_of(store: RunStore, run_id: str, owner: str) -> list[Share]:
    """The owner's tokens for a run, newest first (revoked and expired ones included, so the list explains itself)."""
    con = _reader(store)
    if con is None:
        return []
    with closing(con):
        rows = con.execute("SELECT * FROM shares WHERE run_id = ? AND owner = ? ORDER BY created DESC",
                           (run_id, owner)).fetchall()
    return [_share(r) for r in rows]


def revoke(store: RunStore, share_id: str, owner: str) -> bool:
    """Stop a token working at once; False when it is not this owner's."""
    with closing(_db(store)) as con:
        done = con.execute("UPDATE shares SET revoked = ? WHERE id = ? AND owner = ? AND revoked IS NULL",
                           (time.time(), share_id, owner)).rowcount
    return done == 1


def check(store: RunStore, token: object) -> Share | None:
    """What a token lets its holder see: its Share while valid and its run still exists, else None."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    wanted = _hash(token)
    con = _reader(store)
    if con is None:
        return None
    with closing(con):
        row = con.execute("SELECT * FROM shares WHERE token_hash = ?", (wanted,)).fetchone()
    if row is None or not hmac.compare_digest(row["token_hash"], wanted):
        return None
    share = _share(row)
    if not share.valid or store.get(share.run_id) is None:
        return None
    return share
