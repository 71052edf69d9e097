"""Who a user is, and what they may see: the owner secret, the owner id derived from it, and the rule.

An anonymous browser keeps a random *owner secret* (a cookie); everything stored on the server —
the runs' `owner` column, the upload folder, the saved project — is named by the *owner id*, a
one-way digest of that secret which grants nothing: knowing an id (from a server path in a
downloaded project, say) does not let anyone act as its owner. A signed-in user's owner id is
derived from the identity provider's issuer and subject instead, so the same person owns the
same runs from any device.

    secret = new_secret()            # kept by the browser only
    me = owner_of(secret)            # what the server stores and compares
    visible(run.owner, me)           # may this session see a run (without a view token)?
"""

from __future__ import annotations

import hashlib
import re
import secrets

COOKIE = "layerlab_session"  # the browser cookie that holds an anonymous owner secret
COOKIE_DAYS = 30
CLI_OWNER = "cli"  # runs started from the command line belong to whoever runs the server
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def new_secret() -> str:
    """A fresh owner secret: 256 random bits, URL- and cookie-safe."""
    return secrets.token_urlsafe(32)


def is_secret(value: object) -> bool:
    """True when `value` has the shape of an owner secret (a cookie someone edited does not)."""
    return isinstance(value, str) and bool(_SECRET.match(value))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def owner_of(secret: str) -> str:
    """The owner id of an anonymous session (16 hex digits, the form workspace.SESSION_ID checks)."""
    if not is_secret(secret):
        raise ValueError("Invalid owner secret received. Expected the 43 characters of secrets.token_urlsafe(32).")
    return _digest("layerlab-owner", secret)


def user_owner(issuer: str, subject: str) -> str:
    """The owner id of a signed-in user: stable for one (issuer, subject) pair, so runs follow the person."""
    if not issuer or not subject:
        raise ValueError(f"A signed-in user needs an issuer and a subject. Received: issuer={issuer!r}, "
                         f"subject={subject!r}")
    return _digest("layerlab-user", issuer, subject)


def visible(run_owner: str | None, me: str) -> bool:
    """May the session `me` see a run owned by `run_owner` without a view token? Its own runs, the command
    line's and runs from before owners were recorded; never another session's, whatever its id."""
    return run_owner in (None, CLI_OWNER, me)


def mine(run_owner: str | None, me: str) -> bool:
    """May `me` rename, stop, continue or delete it? Its own runs (and owner-less ones from before owners)."""
    return run_owner in (None, me)
