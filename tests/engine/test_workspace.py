"""The workspace layout and the data-source rule (samples or the session's own uploads)."""

from __future__ import annotations

import pytest

from layerlab import workspace
from layerlab.errors import LayerlabError, SpecError

SESSION = "0123456789abcdef"


def test_source_parses_samples_and_paths_once(tmp_path):
    s = workspace.Source("sample:digits")
    assert (s.is_sample, s.sample, s.path, s.display_name, s.exists) == (True, "digits", None, "digits", True)
    f = tmp_path / "pingüinos.csv"
    p = workspace.Source(str(f))
    assert (p.is_sample, p.sample, p.display_name, p.exists) == (False, None, "pingüinos.csv", False)
    f.write_text("a\n1\n")
    assert p.exists and p.path == f
    assert workspace.Source.of_sample("tweets").raw == "sample:tweets"


def test_layout_lives_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    assert workspace.uploads_dir(SESSION) == tmp_path / "uploads" / SESSION
    assert workspace.project_file(SESSION) == tmp_path / "projects" / f"{SESSION}.json"
    assert workspace.extracted_dir() == tmp_path / "extracted"
    assert workspace.image_cache_dir() == tmp_path / "image-cache"
    with pytest.raises(LayerlabError, match="session id"):
        workspace.uploads_dir("../../etc")


def test_a_project_may_open_only_samples_and_own_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    mine = workspace.uploads_dir(SESSION) / "data.csv"
    mine.write_text("a\n1\n")
    other = workspace.uploads_dir("fedcba9876543210") / "data.csv"
    other.write_text("a\n1\n")
    assert workspace.check_source("sample:digits", SESSION).is_sample
    assert workspace.check_source(str(mine), SESSION).path == mine
    for bad in (str(other), "/etc/passwd", str(workspace.uploads_dir(SESSION) / ".." / "fedcba9876543210" / "data.csv")):
        with pytest.raises(SpecError, match="neither a bundled sample nor a file uploaded in this session"):
            workspace.check_source(bad, SESSION)


def test_an_upload_is_displayed_by_the_name_its_user_gave_it(tmp_path, monkeypatch):
    """#15 item 9: the Train page showed `tweets-4790ad698d.csv`, the stored copy's name with its digest."""
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    stored = workspace.save_upload(SESSION, "tweets-1252.csv", b"text,label\nhi,a\n")
    assert stored.name != "tweets-1252.csv"
    assert workspace.Source(str(stored)).display_name == "tweets-1252.csv"
    assert workspace.Source(str(tmp_path / "notes-2024.csv")).display_name == "notes-2024.csv"
