"""What a study has found, for the CLI's JSON, the Tune page's table and `use_best`."""

from __future__ import annotations

from typing import Any

from layerlab.runs.store import RunStore
from layerlab.spec import ProjectSpec
from layerlab.tune import space
from layerlab.tune import study as studies

_STATE = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


def trials(name: str, store: RunStore) -> list[dict[str, Any]]:
    """One row per trial: number, state, its params, its run (id, status, best metric, epochs run)."""
    study = studies.load(name)
    metric = studies.config_of(study)["metric"]
    runs = {r.id: r for r in store.list() if r.study == name}
    rows = []
    for t in study.get_trials(deepcopy=False):
        run = runs.get(t.user_attrs.get("run_id", ""))
        if run is None and t.user_attrs.get("run_id") and t.state.name == "FAIL":
            continue  # its run is gone: deleted on Runs, or never started before the study ended (driver._tell)
        best = run and studies.value_of(run, metric)
        rows.append({"trial": t.number, "state": _STATE.get(t.state.name, t.state.name.lower()),
                     "params": dict(t.params), "value": t.value, "run_id": run.id if run else None,
                     "run_status": run.status if run else None, "best": best,
                     "epochs_run": run.epoch if run else None})
    return rows


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {state: sum(r["state"] == state for r in rows) for state in (*studies.STATES, "running")}


def summary(name: str, store: RunStore) -> dict[str, Any]:
    """The study's outcome: the CLI's last line (`study`, `best_run_id`, `best_params`, `best_value`,
    `metric`, `trials`)."""
    study = studies.load(name)
    config = studies.config_of(study)
    rows = trials(name, store)
    best = best_trial(rows, config["direction"])
    return {"study": name, "best_run_id": best["run_id"] if best else None,
            "best_params": best["params"] if best else None, "best_value": best["value"] if best else None,
            "metric": config["metric"], "direction": config["direction"], "trials": counts(rows)}


def best_trial(rows: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    if not done:
        return None
    return (max if direction == "maximize" else min)(done, key=lambda r: r["value"])


def best_spec(name: str, store: RunStore, project: ProjectSpec | None = None) -> tuple[ProjectSpec, str]:
    """`project` (default: the study's) with the best trial's settings, and that trial's run id (for "Use
    the best"); the rest of the project (its epochs among them) stays as it is.

    Raises:
        LayerlabError: when no trial has completed yet, or the project no longer has a searched layer.
    """
    from layerlab.errors import LayerlabError

    config = studies.config_of(studies.load(name))
    best = best_trial(trials(name, store), config["direction"])
    if best is None or best["run_id"] is None or store.get(best["run_id"]) is None:
        raise LayerlabError("No trial of this study has completed yet (or its run was deleted).",
                            "Wait for one to finish, or continue the study.")
    try:
        spec = space.apply(project or studies.base_spec(config), space.dims_from(config["dims"]), best["params"])
    except (KeyError, IndexError, TypeError):
        raise LayerlabError("The project's layers changed since this study began, so its best settings no longer fit.",
                            "Start a new study of the project as it is now.") from None
    return spec, best["run_id"]
