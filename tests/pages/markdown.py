"""Reading Markdown bodies in page tests.

Pages escape user text with `components.markup` before it reaches st.markdown, st.caption,
st.error …, so an element's `.value` holds `holiday\\.zip` where the page shows `holiday.zip`.
`plain()` gives the text as shown, for tests that check what a message says; tests of the escaping
itself read `.value` and ask `markup_findings()` what it turned into.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash escapes any ASCII punctuation

# Names a hostile user gives a project, file, column, class or run; what each must never become.
HOSTILE = {
    "tick": "ti`ck ![t](http://127.0.0.1:9/t.png) `",
    "image": "![x](http://127.0.0.1:9/x.png)",
    "html": "<img src=x onerror=alert(1)>",
    "bold": "**bold**",
    "latex": "$x$",
}


def plain(body: str) -> str:
    """A Markdown body as the reader sees it: backslash escapes removed."""
    return _ESCAPE.sub(r"\1", str(body)).replace("\u2060", "")  # and the joiner that keeps an address unlinked


_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def outside_code(body: str) -> str:
    """The body with its code spans blanked out: text inside one is shown as typed, never as markup."""
    return _CODE_SPAN.sub(" ", str(body))


def _math(state: Any, silent: bool) -> bool:
    """Streamlit renders `$…$` as LaTeX: an inline rule that finds what it would (escapes and code spans
    are taken by earlier rules, as in Streamlit's parser)."""
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    end = src.find("$", start + 1)
    while end != -1 and src[end - 1] == "\\":
        end = src.find("$", end + 1)
    if end <= start + 1:
        return False
    if not silent:
        state.push("math_inline", "math", 0).content = src[start + 1:end]
    state.pos = end + 1
    return True


@cache
def _parser():
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["strikethrough", "table"])
    parser.inline.ruler.push("math", _math)
    return parser


def _walk(tokens: list[Any]):
    for t in tokens:
        yield t
        yield from _walk(t.children or [])


def markup_findings(body: str) -> list[str]:
    """What in a Markdown body the HOSTILE names became: an image, HTML, a link to their host, bold or
    LaTeX. Empty when every one of them is shown as typed."""
    found = []
    tokens = list(_walk(_parser().parse(str(body))))
    for i, t in enumerate(tokens):
        if t.type == "image":
            found.append(f"an image ({t.attrs.get('src')})")
        elif t.type in ("html_inline", "html_block"):
            found.append(f"HTML ({t.content.strip()[:40]})")
        elif t.type == "link_open" and "127.0.0.1:9" in str(t.attrs.get("href")):
            found.append(f"a link ({t.attrs.get('href')})")
        elif t.type in ("strong_open", "em_open") and i + 1 < len(tokens) and tokens[i + 1].content == "bold":
            found.append("bold text")
        elif t.type == "math_inline" and t.content == "x":
            found.append("LaTeX")
    return found
