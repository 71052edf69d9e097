"""Reading Markdown bodies in page tests.

Pages escape user text with `components.markup.md` before it reaches st.markdown, st.caption,
st.error …, so an element's `.value` holds `holiday\\.zip` where the page shows `holiday.zip`.
`plain()` gives the text as shown, for tests that check what a message says; tests of the escaping
itself read `.value` directly.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$:])")


def plain(body: str) -> str:
    """A Markdown body as the reader sees it: backslash escapes removed."""
    return _ESCAPE.sub(r"\1", str(body))
