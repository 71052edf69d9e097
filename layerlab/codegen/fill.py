"""Reading the script templates and copying engine source into a generated script.

A template (`templates/NAME.py`) is a valid, importable module. Above its `MARKER` line
sit its docstring and the imports that make it lint and import on its own; only the part
below the marker goes into a script (without its `# noqa` comments). Placeholders are
module-level constants (`DATA = ""`) that `template(NAME, DATA=...)` replaces by name
(keeping a comment at the end of the line), so the file stays importable.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError

TEMPLATES = Path(__file__).parent / "templates"
MARKER = "# ---- the script starts here ----"
_BUG = "This is a bug in Layerlab: update layerlab/codegen."
_NOQA = re.compile(r"[ \t]+# noqa\b[^\n]*$", re.MULTILINE)


@cache
def _read(name: str) -> str:
    return (TEMPLATES / f"{name}.py").read_text(encoding="utf-8")


def template(name: str, **values: str) -> str:
    """The script part of `templates/<name>.py`, each named constant set to the given source text.

    Raises:
        LayerlabError: the template has no marker, or a placeholder is not there exactly once.
    """
    text = _read(name)
    if text.count(MARKER) != 1:
        raise LayerlabError(f"The training script cannot be written: the template {name} has no `{MARKER}` line.", _BUG)
    body = _NOQA.sub("", text.split(MARKER, 1)[1])  # they are for linting the template on its own
    for key, source in values.items():
        pattern = re.compile(rf"^{re.escape(key)}(?:: [^=\n]+)? = .*?(?P<comment>  # .*)?$", re.MULTILINE)
        line = f"{key} = {source}"
        body, count = pattern.subn(lambda m, line=line: line + (m["comment"] or ""), body, count=2)
        if count != 1:
            raise LayerlabError(f"The training script cannot be written: the template {name} should set `{key}` "
                                f"once (found {count}).", _BUG)
    return body.strip("\n")


# An import of Layerlab inside a copied function: the script defines what it imports itself.
_LAYERLAB_IMPORT = re.compile(r"^[ \t]*(?:from layerlab[\w.]* import|import layerlab)[^\n]*\n(?:[ \t]*\n)?", re.MULTILINE)


def engine_source(obj: Any) -> str:
    """A public engine function's or class's source, copied into a script as it is.

    Only public names: their signature and behaviour are the engine's promise, so a copy
    stays the code training runs. Private helpers the script needs have template copies.
    Imports of Layerlab inside the function are left out (the script has those names).
    """
    if obj.__name__.startswith("_"):
        raise LayerlabError(f"The training script cannot copy the private {obj.__qualname__}.", _BUG)
    return _without_layerlab_imports(textwrap.dedent(inspect.getsource(obj)).rstrip(), obj.__qualname__)


def engine_module_body(module: Any) -> str:
    """A public engine module's code after its docstring and imports (e.g. Layerlab's own layers)."""
    if module.__name__.rsplit(".", 1)[-1].startswith("_"):
        raise LayerlabError(f"The training script cannot copy the private module {module.__name__}.", _BUG)
    src = inspect.getsource(module)
    tree = ast.parse(src)
    first = next((node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))
                  and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))), None)
    if first is None:
        raise LayerlabError(f"The training script cannot copy {module.__name__}: it holds no code.", _BUG)
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    body = "\n".join(src.splitlines()[start - 1:]).rstrip()
    return _without_layerlab_imports(body, module.__name__)


def _without_layerlab_imports(src: str, what: str) -> str:
    if any("(" in m.group(0) and ")" not in m.group(0) for m in _LAYERLAB_IMPORT.finditer(src)):
        raise LayerlabError(f"The training script cannot copy {what}: it imports Layerlab over several lines.", _BUG)
    return _LAYERLAB_IMPORT.sub("", src)


def join(*sources: str) -> str:
    """Top-level definitions separated as PEP 8 asks (two blank lines); empty parts left out."""
    return "\n\n\n".join(s.strip("\n") for s in sources if s.strip())
