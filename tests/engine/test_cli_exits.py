"""The CLI's contract for user errors (issue #20, finding 6): exit status 2 and one `error: …` line that quotes
only what the user wrote (a path, a name), never what is inside the file it was pointed at.

Table-driven over the subcommands; each case runs `main()` in this process (no training starts: the data
is checked before a run is created).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerlab.cli import main
from layerlab.project import new_project

SECRET = "TOPSECRET password=hunter2"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of bad inputs: a secret one-line file, a binary .csv, a folder, bad JSON, projects pointing at them."""
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    (tmp_path / "folder").mkdir()
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "secret.csv").write_text(SECRET + "\n")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01\x02" + SECRET.encode())
    (tmp_path / "bad.json").write_text("{" + SECRET)
    (tmp_path / "not-a-project.json").write_text(json.dumps({"secret": SECRET}))
    good = json.loads(new_project("sample:penguins").model_dump_json())
    for name, source in {"folder": "folder", "secret": "secret.txt", "secret-csv": "secret.csv", "binary": "binary.csv",
                         "missing": "missing.csv", "sample": "sample:nope"}.items():
        good["data"]["source"] = str(tmp_path / source) if ":" not in source else source
        (tmp_path / f"{name}.project.json").write_text(json.dumps(good))
    return tmp_path


CASES = [
    # init: the data and the names it is given
    (["init", "--data", "{d}/folder"], "folder"),
    (["init", "--data", "{d}/secret.txt"], "secret.txt"),
    (["init", "--data", "{d}/secret.csv"], "secret.csv"),
    (["init", "--data", "{d}/binary.csv"], "binary.csv"),
    (["init", "--data", "{d}/missing.csv"], "missing.csv"),
    (["init", "--data", "sample:nope"], "nope"),
    (["init", "--data", "sample:penguins", "--template", "no_such_template"], "no_such_template"),
    (["init", "--data", "sample:penguins", "--target", "no_such_column"], "no_such_column"),
    # train: the project file, and the data it names
    (["train", "{d}/folder.project.json"], "folder"),
    (["train", "{d}/secret.project.json"], "secret.txt"),
    (["train", "{d}/secret-csv.project.json"], "secret.csv"),
    (["train", "{d}/binary.project.json"], "binary.csv"),
    (["train", "{d}/missing.project.json"], "missing.csv"),
    (["train", "{d}/sample.project.json"], "nope"),
    (["train", "{d}/bad.json"], "bad.json"),
    (["train", "{d}/not-a-project.json"], "not-a-project.json"),
    (["train", "{d}/no-such-project.json"], "no-such-project.json"),
    (["train", "{d}/folder"], "folder"),
    (["train", "{d}/secret.txt"], "secret.txt"),
    (["train", "{d}/folder.project.json", "--epochs", "0"], "epochs"),
    # predict, evaluate, export: a run folder that is not one
    (["predict", "{d}/folder", "{d}/secret.csv"], "folder"),
    (["predict", "{d}/no-such-run", "{d}/secret.csv"], "no-such-run"),
    (["evaluate", "{d}/folder"], "folder"),
    (["evaluate", "{d}/secret.txt"], "secret.txt"),
    (["export", "{d}/folder", "-o", "{d}/out.keras"], "folder"),
    (["export", "{d}/no-such-run", "--format", "tflite", "-o", "{d}/out.zip"], "no-such-run"),
    (["export", "{d}/folder", "--format", "onnx", "-o", "{d}/out.onnx"], "onnx"),
]


@pytest.mark.parametrize("argv, quoted", CASES, ids=[" ".join(a).replace("{d}/", "") for a, _ in CASES])
def test_user_errors_exit_2_with_one_plain_line(files: Path, argv: list[str], quoted: str, capsys):
    args = [a.replace("{d}", str(files)) for a in argv]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert quoted in err, err
    assert "TOPSECRET" not in err + out and "hunter2" not in err + out, "the file's content is never quoted"
    assert "Traceback" not in err
    assert not list((files / "home").glob("runs/*/")), "no run was created for a project that cannot train"
