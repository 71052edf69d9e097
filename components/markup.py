"""Escaping user text for Streamlit's Markdown (st.markdown, st.caption, st.info, st.error, st.toast …).

Every string that comes from a user (file, column, class, run and project names, and the messages built
from them) goes through `md()` before it reaches a Markdown body, so `*`, `_`, `[x](javascript:…)`,
`<b>`, `:red[…]` or `$…$` are shown as typed, never as formatting, links or HTML.
"""

from __future__ import annotations

import re
from typing import Any

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def md(text: Any) -> str:
    """`text` with Markdown's special characters escaped, for st.caption / st.markdown."""
    return _MARKDOWN.sub(r"\\\1", str(text))
