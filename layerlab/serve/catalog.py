"""Which runs a server serves, under which model names and versions.

A model's name is its project's slug (`layerlab.runs.store.slug` of the project name), so the runs of one
project are versions 1..n of one model, numbered in the order they were created. Only the runs named when the
server starts are served: a request names a model and a version, never a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles
from layerlab.runs.store import ACTIVE, RunStore, slug


@dataclass(frozen=True)
class RunRef:
    """One run to serve, as found from the command line."""

    run_id: str
    run_name: str
    project: str
    created: float
    run_dir: Path


@dataclass
class Version:
    """One served run: its number within its model and its loaded predictor(s)."""

    number: int
    ref: RunRef
    predictors: list[Any]  # layerlab.inference.predictor.Predictor, one copy per inference thread
    kind: str
    task: str

    @property
    def predictor(self) -> Any:
        return self.predictors[0]

    def describe(self) -> dict[str, Any]:
        return {"version": self.number, "run_id": self.ref.run_id, "run_name": self.ref.run_name,
                "kind": self.kind, "task": self.task}


@dataclass
class Model:
    """A project's served runs, as versions 1..n of one model."""

    name: str
    versions: dict[int, Version]

    @property
    def latest(self) -> Version:
        return self.versions[max(self.versions)]

    def version(self, raw: str | int | None) -> Version:
        """The version `raw` names (an integer), or the latest when None; LayerlabError naming the served ones."""
        if raw is None:
            return self.latest
        try:
            number = int(str(raw))
        except ValueError:
            number = None
        if number is None or number not in self.versions:
            served = ", ".join(map(str, sorted(self.versions)))
            raise LayerlabError(f"The model `{self.name}` has no version {str(raw)[:40]!r}; it serves version(s) "
                                f"{served}.", "Name a version by its number, or leave it out for the latest.")
        return self.versions[number]


def find_run(arg: str, runs_dir: str | Path | None = None) -> RunRef:
    """A run named on the command line: a run id in the run store, or a run folder.

    Raises:
        LayerlabError: no such run, or it is still training.
    """
    store = RunStore(runs_dir)
    run = store.get(arg) if "/" not in arg and arg not in (".", "..") else None
    if run is None:
        folder = Path(arg).expanduser()
        if not (folder / "project.json").is_file():
            raise LayerlabError(f"There is no run {arg!r}: it is neither a run id in {store.root} nor a run folder.",
                                "Name a run by its id (see the Train page or `train`'s output) or its folder.")
        folder = folder.resolve()
        owner = RunStore(folder.parent) if (folder.parent / "runs.db").is_file() else None
        run = owner.get(folder.name) if owner else None
        if run is None:
            spec = RunFiles(folder).spec()
            return RunRef(folder.name, folder.name, spec.name, folder.stat().st_mtime, folder)
    if run.status in ACTIVE:
        raise LayerlabError(f"The run {run.name!r} ({run.id}) is still {run.status}; only a finished run can be served.",
                            "Wait until it has finished, or stop it on the Train page.")
    return RunRef(run.id, run.name, run.project_name or run.name, run.created, run.path)


def load_models(refs: list[RunRef], copies: int = 1) -> dict[str, Model]:
    """Load every run's end-to-end model (`copies` per run, one per inference thread), grouped by project slug.

    Raises:
        LayerlabError: a run without a trained model, or a model file that cannot be loaded.
    """
    from layerlab.inference.predictor import load_predictor

    grouped: dict[str, list[RunRef]] = {}
    for ref in sorted({r.run_dir: r for r in refs}.values(), key=lambda r: (r.created, r.run_id)):
        grouped.setdefault(slug(ref.project) or "model", []).append(ref)
    models: dict[str, Model] = {}
    for name, group in grouped.items():
        versions = {}
        for number, ref in enumerate(group, 1):
            loaded = [load_predictor(ref.run_dir) for _ in range(max(1, copies))]
            info = loaded[0].info
            versions[number] = Version(number, ref, loaded, info.kind, info.task)
        models[name] = Model(name, versions)
    return models
