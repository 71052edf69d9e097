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


def _aged(folder, days: float = 3) -> None:
    old = time.time() - days * 86400
    os.utime(folder, (old, old))


def test_unpacked_zips_and_image_caches_go_with_their_uploads(tmp_path, monkeypatch):
    from layerlab.data.images import derived_folders, load_images, open_images
    from layerlab.housekeeping import sweep_derived
    from layerlab.spec import ImagePrep
    from tests.engine.imagezips import make_class_zip

    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    zips = {}
    for i, name in enumerate(("used", "orphan", "fresh", "deleted")):
        z = tmp_path / "uploads" / "s1" / f"{name}.zip"
        z.parent.mkdir(parents=True, exist_ok=True)
        make_class_zip(z, classes=2, per_class=3, size=8, seed=i)
        load_images(open_images(str(z)), ImagePrep(height=8, width=8))  # unpacks and caches it
        (folder,) = derived_folders(z)
        assert folder.is_dir()
        zips[name] = (z, folder)
    _spec(tmp_path / "projects" / "p1.json", zips["used"][0])
    _spec(tmp_path / "projects" / "p2.json", zips["deleted"][0])
    for name in ("used", "orphan", "deleted"):
        _aged(zips[name][1])

    removed = sweep_derived(24, root=tmp_path)
    assert removed == [zips["orphan"][1]], "only the old folder that nothing uses"
    assert zips["used"][1].is_dir() and zips["fresh"][1].is_dir()

    (tmp_path / "projects" / "p2.json").unlink()  # the user deleted that project, then the upload
    assert delete_upload(zips["deleted"][0], root=tmp_path) is None
    assert not zips["deleted"][1].exists(), "its unpacked copy went with it"
    assert zips["used"][1].is_dir()
