"""components.markup: user text is shown as typed in any Markdown body (issue #20, finding 3)."""

from __future__ import annotations

import pytest

from components.markup import code, md, message
from tests.pages.markdown import HOSTILE, markup_findings, plain

NAMES = [*HOSTILE.values(), "``", "a ``b`` c", "`", " lead", "trail` ", "line\nbreak", "# heading", "x\n===",
         "1. item", "- item", "[l](javascript:alert(1))", ":red[x]", "&lt;img src=x onerror=1&gt;", "a\\`b"]


def _rendered(body: str) -> str:
    from tests.pages.markdown import _parser

    return _parser().render(body)


@pytest.mark.parametrize("name", NAMES)
def test_md_shows_any_name_as_typed(name):
    body = md(name)
    assert markup_findings(body) == []
    html = _rendered(body)
    for tag in ("<img", "<strong", "<em", "<a ", "<h1", "<h2", "<ol", "<ul", "<code"):
        assert tag not in html, (name, html)
    assert plain(body) == name


@pytest.mark.parametrize("name", NAMES)
def test_code_keeps_any_name_inside_one_span(name):
    html = _rendered(f"see {code(name)} here")
    assert html.count("<code>") == 1 and markup_findings(f"see {code(name)} here") == []
    inner = html.split("<code>", 1)[1].split("</code>", 1)[0]
    import html as h

    assert h.unescape(inner) == " ".join(name.splitlines()), (name, html)


@pytest.mark.parametrize("name", NAMES)
def test_engine_messages_quoting_a_name_create_no_markup(name):
    """The engine quotes values as `value`; whatever the value holds, the page shows no markup it made."""
    body = message(f"The column `{name}` is missing; `{name}` again, and {name} unquoted.")
    assert markup_findings(body) == [], body


def test_messages_keep_their_quoted_values_as_code():
    body = message("The target column `species` has only one class (`Adelie`).")
    assert _rendered(body).count("<code>") == 2
    assert "<code>species</code>" in _rendered(body)
    assert plain(message("no quotes here: 3.5 * 2")) == "no quotes here: 3.5 * 2"


def test_a_backtick_in_a_code_span_does_not_end_it():
    """The finding: f"`{value}`" with a backtick in the value let the rest out of the span."""
    value = "a` ![x](http://127.0.0.1:9/x.png) `b"
    assert markup_findings(f"`{value}`"), "the naive span breaks out (the detector sees it)"
    assert markup_findings(code(value)) == []


def test_plot_text_shows_plotlys_html_as_typed():
    """plotly.js reads <a href>, <b>, <br> in labels and decodes entities: escaped, a name shows as typed."""
    from components.charts import probability_figure
    from components.markup import plot_text

    link = '<a href="https://evil.example/">win</a> & <b>b</b>'
    assert plot_text(link) == '&lt;a href="https://evil.example/"&gt;win&lt;/a&gt; &amp; &lt;b&gt;b&lt;/b&gt;'
    fig = probability_figure({link: 0.7, "cat": 0.3})
    assert list(fig.data[0].y) == ["cat", plot_text(link)]
