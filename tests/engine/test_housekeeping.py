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
    from layerlab.data.image_cache import load_images
    from layerlab.data.images import derived_folders, open_images
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


# ---- abandoned sessions (issue #7): their saved projects go, and then their uploads -------------------------


def _session(root, session: str, days: float, *, upload_days: float | None = None):
    """A session with a saved project on its own upload, last seen `days` ago (the upload as old, or older)."""
    upload = root / "uploads" / session / "data.csv"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text("a,b\n1,2\n")
    project = root / "projects" / f"{session}.json"
    _spec(project, upload)
    for path, age in ((upload, upload_days if upload_days is not None else days), (upload.parent, days),
                      (project, days)):
        _aged(path, age)
    return project, upload


def test_an_abandoned_sessions_project_and_uploads_are_swept(tmp_path):
    gone_project, gone_upload = _session(tmp_path, "abandoned", days=3)
    kept_project, kept_upload = _session(tmp_path, "recent", days=0.1, upload_days=3)  # seen lately, old upload

    removed = sweep_uploads(24, root=tmp_path)

    assert gone_project in removed and gone_upload in removed and gone_upload.parent in removed
    assert not gone_project.exists() and not gone_upload.parent.exists()
    assert kept_project.exists() and kept_upload.exists(), "a session seen within the day keeps its project and data"


def test_a_session_with_a_queued_or_running_run_is_never_swept(tmp_path):
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore

    project, upload = _session(tmp_path, "busy", days=5)
    store = RunStore(tmp_path / "runs")
    run = store.create(new_project("sample:digits"), owner="busy")  # its run reads a sample, not the upload
    for status in ("queued", "running"):
        store.set_status(run.id, status)
        assert sweep_uploads(24, root=tmp_path) == []
        assert project.exists() and upload.exists(), status

    store.set_status(run.id, "completed")
    removed = sweep_uploads(24, root=tmp_path)
    assert project in removed and upload in removed


def test_the_age_is_the_sweep_hours_setting_and_a_visit_resets_it(tmp_path, monkeypatch):
    from layerlab.housekeeping import sweep_projects, touch_session

    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    project, upload = _session(tmp_path, "s1", days=3)  # 72 hours
    monkeypatch.setenv("LAYERLAB_SWEEP_HOURS", "100")
    assert sweep_uploads() == [] and project.exists() and upload.exists()

    monkeypatch.setenv("LAYERLAB_SWEEP_HOURS", "48")
    touch_session("s1")  # the user came back: the session is seen now
    assert sweep_projects() == [] and project.exists()
    _aged(project, 3), _aged(upload.parent, 3)
    assert sweep_uploads() == [project, upload, upload.parent]


def test_runs_under_layerlab_runs_dir_keep_their_uploads(tmp_path, monkeypatch):
    """Without an explicit root the sweep reads the runs where they are kept (LAYERLAB_RUNS_DIR), not under home."""
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "elsewhere"))
    project, upload = _session(tmp_path / "home", "s1", days=3)
    _spec(tmp_path / "elsewhere" / "r1" / "project.json", upload)

    assert sweep_uploads() == [project], "the abandoned project goes, the upload a run trained on stays"
    assert upload.exists()


def test_kept_keras_files_go_once_no_project_or_run_names_them(tmp_path):
    """model-files/ (.keras files to start a model from) is swept like the uploads: what a saved project or a run
    names in a keras_file layer stays, and so does a fresh file; an old one nobody names goes."""
    folder = tmp_path / "model-files"
    folder.mkdir()
    files = {name: folder / f"{name}-0123456789.keras" for name in ("by_run", "by_project", "orphan", "fresh")}
    for name, path in files.items():
        path.write_bytes(b"PK")
        if name != "fresh":
            _aged(path)
    half = folder / "cut-0123456789.keras.part"  # a write cut off when the server stopped
    half.write_bytes(b"P")
    _aged(half)

    def names(path, stored):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data": {"source": "sample:digits"}, "model": {"layers": [
            {"type": "keras_file", "params": {"file": stored, "cut_at": "c"}}, {"type": "Dense", "params": {}}]}}))

    names(tmp_path / "runs" / "r1" / "project.json", files["by_run"].name)
    names(tmp_path / "projects" / "p1.json", files["by_project"].name)
    _aged(tmp_path / "projects" / "p1.json", 0.1)  # its session was seen lately
    (tmp_path / "projects" / "broken.json").write_text("{not json")

    removed = sweep_uploads(24, root=tmp_path)
    assert sorted(removed) == sorted([files["orphan"], half])  # a broken project file names nothing (and is fresh)
    assert all(files[n].exists() for n in ("by_run", "by_project", "fresh")) and not files["orphan"].exists()

    (tmp_path / "runs" / "r1" / "project.json").unlink()  # the run was deleted: its file is free now
    from layerlab.housekeeping import sweep_model_files

    assert sweep_model_files(24, root=tmp_path) == [files["by_run"]]
