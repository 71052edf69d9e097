"""CLI: `init --template NAME` works for every template, on its kind's bundled sample, and the project builds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerlab.models.templates import TEMPLATES
from layerlab.project import describe_data
from layerlab.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = {"images": "digits", "text": "tweets", "table": "penguins", "series": "sunspots"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES.names())
def test_init_takes_every_template(name: str, tmp_path: Path):
    from layerlab.models.build import check_model

    template = TEMPLATES.get(name)
    out = tmp_path / "project.json"
    r = _cli("init", "--data", f"sample:{SAMPLE[template.group]}", "--template", name, "-o", str(out))

    assert r.returncode == 0, r.stderr
    assert f"template {name}" in r.stdout
    spec = load_spec(out)
    assert spec.model.template == name and spec.data.kind == template.group and spec.model.layers
    report = check_model(spec, describe_data(spec))
    assert report.ok, report.error


def test_templates_lists_every_template_and_a_wrong_kind_is_refused(tmp_path: Path):
    r = _cli("templates")
    assert r.returncode == 0, r.stderr
    for name in TEMPLATES.names():
        assert name in r.stdout

    r = _cli("init", "--data", "sample:digits", "--template", "bilstm", "-o", str(tmp_path / "p.json"))
    assert r.returncode == 2 and r.stderr.startswith("error: ")
    assert "bilstm" in r.stderr and "small_cnn" in r.stderr, "names the templates that fit images"
    assert not (tmp_path / "p.json").exists()
