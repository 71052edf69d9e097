"""A tuning study: Optuna's journal file under the workspace's studies folder, and what it holds.

The study keeps its own settings as user attributes (`layerlab`: the project, the searched dims, the
metric, the budget, the pruner), so the driver, a worker re-opening a trial and the page all read the
same file, and a restarted driver continues with the earlier trials. The journal backend is Optuna's
answer for several processes writing one study on one machine (its SQLite storage is not: optuna#4034).
A study's driver writes `<study>.driver.json` beside it (its pid and state); `<study>.stop` asks it to stop.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError, SpecError
from layerlab.spec import ProjectSpec, load_spec
from layerlab.tune import space
from layerlab.workspace import studies_dir

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ATTR = "layerlab"
STATES = ("complete", "pruned", "failed")
DEFAULT_PRUNER = {"type": "median", "n_startup_trials": 3, "n_warmup_steps": 1}


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def journal_path(name: str) -> Path:
    if not NAME.match(name or ""):
        raise LayerlabError(f"Invalid study name received: {name!r}. Expected letters, digits, '-' or '_'.")
    return studies_dir() / f"{name}.journal"


def _storage(name: str):
    _optuna()  # quiet
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(journal_path(name))))


def objective(spec: ProjectSpec) -> tuple[str, str]:
    """The validation metric a study optimises and its direction: what the run's best_metric holds
    (val_accuracy, highest; val_mae in the target's units, lowest), or the validation loss where the
    task's MAE has no single unit (a forecast of several columns)."""
    if spec.data.task == "classification":
        return "val_accuracy", "maximize"
    if spec.data.kind == "series" and len(spec.prepare.series.targets or []) > 1:
        return "val_loss", "minimize"
    return "val_mae", "minimize"


def pruner_of(config: dict[str, Any]):
    """The Optuna pruner a study's settings name (the pruner is not stored by Optuna itself)."""
    optuna = _optuna()
    p = dict(config.get("pruner") or DEFAULT_PRUNER)
    kind = p.pop("type")
    if kind == "median":
        return optuna.pruners.MedianPruner(**p)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(**p)
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise LayerlabError(f"Invalid pruner received: {kind!r}. Expected 'median', 'halving' or 'none'.")


def create(spec: ProjectSpec, search: dict[str, dict[str, Any] | None], *, trials: int, timeout_s: float | None = None,
           epochs: int | None = None, pruner: dict[str, Any] | None = None, seed: int = 0, owner: str | None = None,
           name: str | None = None, enqueue: list[dict[str, Any]] | None = None) -> str:
    """A new study of `spec` over the chosen space; returns its name. `enqueue`: params the first trials
    try before the sampler's own (a known-good setting, or a test's fixed sequence).

    Raises:
        SpecError: a range that cannot be built, a budget of no trials.
    """
    dims = space.choose(spec, search)
    if trials < 1 or trials > 1000:
        raise SpecError("trials", f"expected a number of trials between 1 and 1000, received {trials}.")
    if timeout_s is not None and timeout_s <= 0:
        raise SpecError("timeout", f"expected a time limit above 0 seconds, received {timeout_s:g}.")
    if epochs is not None:
        spec = spec.edit(**{"train.epochs": epochs})
    metric, direction = objective(spec)
    config = {"project": spec.to_dict(), "dims": [d.to_dict() for d in dims], "metric": metric,
              "direction": direction, "trials": int(trials), "timeout_s": timeout_s, "epochs": epochs,
              "pruner": pruner or DEFAULT_PRUNER, "seed": int(seed), "owner": owner, "created": time.time()}
    pruner_of(config)  # a bad pruner is refused now, not in a worker
    name = name or f"{re.sub(r'[^A-Za-z0-9]+', '-', spec.name).strip('-')[:40] or 'study'}-{time.strftime('%Y%m%d-%H%M%S')}"
    if journal_path(name).exists():
        raise LayerlabError(f"A study named {name!r} exists already.", "Continue it, or choose another name.")
    study = _optuna().create_study(study_name=name, storage=_storage(name), direction=direction)
    study.set_user_attr(ATTR, config)
    for params in enqueue or []:
        study.enqueue_trial(params)
    return name


def load(name: str):
    """The Optuna study with its sampler (TPE, seeded afresh after its earlier trials) and pruner."""
    optuna = _optuna()
    if not journal_path(name).exists():
        raise LayerlabError(f"There is no study {name!r}.", "Start one on the Tune page or with `python -m layerlab tune`.")
    storage = _storage(name)
    raw = optuna.load_study(study_name=name, storage=storage)
    config = raw.user_attrs[ATTR]
    done = len(raw.trials)
    sampler = optuna.samplers.TPESampler(seed=config["seed"] + done, constant_liar=True,
                                         n_startup_trials=max(2, min(10, config["trials"] // 3)))
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner_of(config))


def config_of(study) -> dict[str, Any]:
    return study.user_attrs[ATTR]


def base_spec(config: dict[str, Any]) -> ProjectSpec:
    return load_spec(config["project"])


def set_budget(name: str, trials: int | None = None, timeout_s: float | None = None) -> None:
    """Change a study's budget (to continue it for more trials)."""
    study = load(name)
    config = dict(config_of(study))
    if trials is not None:
        if trials < 1 or trials > 1000:
            raise SpecError("trials", f"expected a number of trials between 1 and 1000, received {trials}.")
        config["trials"] = int(trials)
    config["timeout_s"] = timeout_s
    study.set_user_attr(ATTR, config)


def open_trial(name: str, number: int):
    """The trial `number` re-opened from the journal (a worker reports to it)."""
    optuna = _optuna()
    study = load(name)
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    return optuna.trial.Trial(study, trial_id)


def value_of(run: Any, metric: str) -> float | None:
    """A finished trial's result: its run's best validation metric (best_metric, or best_val for the loss)."""
    if metric == "val_loss":
        return run.best_val
    return run.best_metric if run.best_metric_name == metric else None


# ---- the driver's sidecar files --------------------------------------------------------------------


def _sidecar(name: str, suffix: str) -> Path:
    return journal_path(name).with_suffix(suffix)


def write_driver(name: str, **state: Any) -> None:
    path = _sidecar(name, ".driver.json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "beat": time.time(), **state}), encoding="utf-8")
    tmp.replace(path)


def driver_state(name: str) -> dict[str, Any]:
    """{"state": "running"|"finished"|"stopped"|"failed"|"none", "message": …}; a dead driver's "running"
    reads as "stopped"."""
    path = _sidecar(name, ".driver.json")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "none"}
    if state.get("state") in ("starting", "running") and not _alive(state.get("pid")):
        return {**state, "state": "stopped", "message": "The tuning process ended unexpectedly; continue the study."}
    return state


def running(name: str) -> bool:
    return driver_state(name).get("state") in ("starting", "running")


def _alive(pid: Any) -> bool:
    from layerlab.runs.store import _pid_alive

    return isinstance(pid, int) and _pid_alive(pid)


def request_stop(name: str, store: Any) -> int:
    """Stop a study: its driver asks for no more trials and its running trials stop now (within a
    worker's flush, not the driver's poll). Returns how many runs were asked to stop."""
    from layerlab.runs.runner import stop_run
    from layerlab.runs.store import ACTIVE

    _sidecar(name, ".stop").write_text(str(time.time()), encoding="utf-8")
    runs = [r for r in store.list(statuses=ACTIVE) if r.study == name]
    for run in runs:
        stop_run(store, run.id)
    return len(runs)


def stop_requested(name: str) -> bool:
    return _sidecar(name, ".stop").exists()


def clear_stop(name: str) -> None:
    _sidecar(name, ".stop").unlink(missing_ok=True)


def names() -> list[str]:
    """The studies on this server, newest first."""
    return [p.stem for p in sorted(studies_dir().glob("*.journal"), key=lambda p: p.stat().st_mtime, reverse=True)]
