import json
import os
import time

from layerlab.housekeeping import delete_upload, sweep_uploads


def _spec(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": {"source": str(source)}}))


def test_sweep_keeps_what_projects_and_runs_use(tmp_path):
    old = time.time() - 3 * 86400
    files = {}
    for name in ("used_by_run", "used_by_project", "orphan", "fresh"):
        f = tmp_path / "uploads" / ("s1" if name != "orphan" else "s2") / f"{name}.zip"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
        if name != "fresh":
            os.utime(f, (old, old))
        files[name] = f
    _spec(tmp_path / "runs" / "r1" / "project.json", files["used_by_run"])
    _spec(tmp_path / "projects" / "p1.json", files["used_by_project"])
    _spec(tmp_path / "projects" / "p2.json", "sample:digits")
    removed = sweep_uploads(24, root=tmp_path)
    assert files["orphan"] in removed and (tmp_path / "uploads" / "s2") in removed
    assert all(files[n].exists() for n in ("used_by_run", "used_by_project", "fresh"))


def test_delete_upload_refuses_outside_files_and_files_in_use(tmp_path):
    f = tmp_path / "uploads" / "s1" / "a.csv"
    f.parent.mkdir(parents=True)
    f.write_text("a,b\n1,2\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    assert "not one of your uploads" in delete_upload(outside, root=tmp_path)
    assert "not one of your uploads" in delete_upload(tmp_path / "uploads" / "s1" / ".." / ".." / "secret.txt", root=tmp_path)
    _spec(tmp_path / "runs" / "r1" / "project.json", f)
    assert "still uses" in delete_upload(f, root=tmp_path)
    (tmp_path / "runs" / "r1" / "project.json").unlink()
    assert delete_upload(f, root=tmp_path) is None and not f.exists() and outside.exists()
