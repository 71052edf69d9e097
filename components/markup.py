"""Putting user text on a page: the one place that turns it into safe Markdown.

Streamlit renders Markdown (with HTML-like syntax, `:red[…]` directives, emoji shortcodes and `$…$` LaTeX)
in st.markdown, st.caption, st.info/warning/error/success, st.toast, headers, and in the labels of
widgets, metrics, expanders, tabs and radio/pills options. Every string that comes from a user (file,
column, class, run and project names, a row's text) or from the engine quoting one reaches those only
through this module:

- `md(text)`: plain text shown as typed: every character Markdown or HTML could act on is escaped, so
  `**x**`, `![x](http://…)`, `<img onerror=…>`, `[x](javascript:…)`, `:red[x]`, `$x$` or a `#` at a line's
  start are text, never formatting, images, links, HTML or LaTeX (a bare address gets an invisible
  word joiner, as Streamlit would otherwise link it).
- `code(value)`: a value shown as inline code, fenced by more backticks than the longest run inside it,
  so a name holding backticks cannot close the span early (Markdown does not honour `\\`` in a span).
- `message(text)`: text from the engine (LayerlabError messages and hints, notes, captions). The engine
  stays UI-free and returns plain text; where it quotes a value it writes `` `value` ``. Here each such
  quoted part becomes `code(value)` and everything else goes through `md()`. A quoted value that itself
  holds backticks may be split differently than meant, but every part is either escaped or inside a
  code span, so nothing in it becomes markup.

- `plot_text(text)`: a user's string for a plotly figure (titles, tick and category labels, legend names,
  hover text, annotations): plotly.js reads its own HTML subset there (`<a href>`, `<b>`, `<br>`…), and
  decodes entities, so `&`, `<` and `>` are escaped as entities and the name shows exactly as typed.

Selectbox and multiselect options are plain text in Streamlit (not Markdown): give them the raw name.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:=&])")
_TICKS = re.compile(r"`+")
# Streamlit's Markdown links bare web and mail addresses after parsing, escapes or not: an invisible word
# joiner before "://", after "www" and before "@" keeps a name's address as text.
_ADDRESS = re.compile(r"(?=://)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
JOINER = "\u2060"


def plot_text(text: Any) -> str:
    """`text` for a plotly label or hover text: shown as typed, never as plotly's HTML (links, bold, breaks)."""
    return escape(str(text), quote=False)


def md(text: Any) -> str:
    """`text` with every Markdown and HTML special character escaped, for any Markdown body or label."""
    return _MARKDOWN.sub(r"\\\1", _ADDRESS.sub(JOINER, str(text)))


def code(value: Any) -> str:
    """`value` as an inline code span that nothing inside it can end early.

    Line breaks become spaces (a code span is one line); a value that starts or ends with a backtick
    or a space is padded, as CommonMark strips one space from each end.
    """
    text = " ".join(str(value).splitlines()) or " "
    fence = "`" * (max((len(run) for run in _TICKS.findall(text)), default=0) + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    return f"{fence}{text}{fence}"


def message(text: Any) -> str:
    """Engine text for a Markdown body: its `quoted` values as safe code spans, the rest escaped."""
    text = str(text)
    out, at = [], 0
    runs = list(_TICKS.finditer(text))
    i = 0
    while i < len(runs):
        opening = runs[i]
        closing = next((j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opening.group())), None)
        if closing is None:
            i += 1
            continue
        inner = text[opening.end():runs[closing].start()]
        out.append(md(text[at:opening.start()]))
        out.append(code(inner[1:-1] if len(inner) > 2 and inner[0] == inner[-1] == " " else inner))
        at = runs[closing].end()
        i = closing + 1
    out.append(md(text[at:]))
    return "".join(out)
