"""CLI usage errors point to a help command that exists (issue #15, item 11)."""

from __future__ import annotations

import pytest

from layerlab.cli import main


@pytest.mark.parametrize("argv, hint", [
    ([], "see `python -m layerlab --help`"),
    (["nonsense"], "see `python -m layerlab --help`"),
    (["train"], "see `python -m layerlab train --help`"),
])
def test_usage_error_names_a_real_help_command(argv: list[str], hint: str, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert hint in err
    assert "layerlab layerlab" not in err
