"""Template: where the script finds a `.keras` file the model starts from (a `keras_file` block)."""

from __future__ import annotations

# ---- the script starts here ----


def model_file(name: str) -> str:
    """The .keras file `name` this model starts from: in the folder the script runs in, or beside the script."""
    import os  # here, so that the model's code (`model_code`) needs no more imports

    places = [name]
    if "__file__" in globals():  # not when the code is run with exec()
        places.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), name))
    for path in places:
        if os.path.isfile(path):
            return path
    raise SystemExit(f"This model starts from the .keras file {name} (the file given to Layerlab on Build, or to "
                     f"`init --start-from`), and this script needs it: put {name} beside this script.")
