"""What a browser brings to a new session that AppTest cannot: its cookies (st.context.cookies).

A reload is a new session with empty session_state; the owner secret comes back in the cookie.
"""

from __future__ import annotations

import pytest

from layerlab import identity


def with_owner_cookie(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every AppTest session of this test arrives with the same owner cookie (as one browser's reloads
    do); returns the owner id that cookie stands for."""
    from streamlit.runtime.context import ContextProxy, StreamlitCookies

    secret = identity.new_secret()
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: StreamlitCookies({identity.COOKIE: secret})))
    return identity.owner_of(secret)
