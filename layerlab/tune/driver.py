"""The study's driver: ask Optuna for settings, run each trial as an ordinary run, tell Optuna how it ended.

`python -m layerlab.tune.driver STUDY --runs-dir DIR` is the process the Tune page launches (through
`runner.launch`); the CLI calls `drive` in its own process. Trials go through the run queue like any
run, at most LAYERLAB_CONCURRENT_RUNS at once; each worker reports its validation metric to its trial
every epoch and stops a pruned one (see `train.callbacks.TrialCallback`); the driver only tells the result.
A restarted driver adopts the study's trials that are still running and goes on with the earlier ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.runs.runner import dispatch, start_run
from layerlab.runs.store import Run, RunStore
from layerlab.settings import limits
from layerlab.tune import results, space
from layerlab.tune import study as studies


def drive(name: str, store: RunStore, echo: Callable[[str], None] | None = None, poll_s: float = 0.2) -> dict[str, Any]:
    """Run the study to its budget (trials in all, and the time limit of this session) or until it is
    stopped; returns `results.summary`."""
    optuna = studies._optuna()
    study = studies.load(name)
    config = studies.config_of(study)
    dims, base = space.dims_from(config["dims"]), studies.base_spec(config)
    deadline = time.time() + config["timeout_s"] if config.get("timeout_s") else None
    studies.clear_stop(name)
    studies.write_driver(name, state="running")
    inflight = _adopt(study, optuna)
    stopping = False
    cut: set[str] = set()  # runs stopped by the time limit: a stopped trial that reached a value still counts
    try:
        while True:
            store.reap()
            runs = {number: store.get(run_id) for number, run_id in inflight.items()}
            if any(run is not None and run.status == "queued" for run in runs.values()):
                dispatch(store)  # a slot freed by a worker that died does not wait for the next trial
            for number, run_id in list(inflight.items()):
                run = runs[number]
                if run is None or not run.active:
                    line = _tell(study, optuna, number, run, config["metric"], store, cut=run_id in cut)
                    if echo:
                        echo(line)
                    del inflight[number]
            if not stopping and studies.stop_requested(name):
                stopping = True
                for run_id in inflight.values():
                    store.request_stop(run_id)
            finished = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
            out_of_time = deadline is not None and time.time() >= deadline
            if out_of_time and not stopping:  # the limit is the study's end, not only its last start
                for run_id in set(inflight.values()) - cut:
                    store.request_stop(run_id)
                    cut.add(run_id)
            wanted = not stopping and not out_of_time and finished + len(inflight) < config["trials"]
            # One trial more than can train waits in the queue: a worker that finishes a trial takes it at once,
            # in the same process (no new process, no TensorFlow import: seconds per trial; see runs/worker.py).
            if wanted and len(inflight) < max(1, limits().concurrent_runs) + 1:
                number, run_id = _ask(study, optuna, dims, base, store, config, name)
                if run_id:
                    inflight[number] = run_id
                continue
            if not wanted and not inflight:
                break
            studies.write_driver(name, state="running")
            time.sleep(poll_s)
    except BaseException as exc:
        studies.write_driver(name, state="failed", message=str(exc)[:300])
        raise
    message = ("Stopped by request." if stopping else
               "The time limit was reached." if deadline is not None and time.time() >= deadline else
               "The budget is spent.")
    studies.write_driver(name, state="stopped" if stopping else "finished", message=message)
    return results.summary(name, store)


def _adopt(study: Any, optuna: Any) -> dict[int, str]:
    """Running trials left by an earlier driver: watched again if their run exists, failed if it never started."""
    out = {}
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.user_attrs.get("run_id"):
            out[t.number] = t.user_attrs["run_id"]
        else:
            study.tell(t.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    return out


def _ask(study: Any, optuna: Any, dims: list[space.Dim], base: Any, store: RunStore, config: dict[str, Any],
         name: str) -> tuple[int, str | None]:
    trial = study.ask()
    params = space.suggest(trial, dims)
    try:
        spec = space.apply(base, dims, params)
    except LayerlabError as exc:  # a combination the project cannot take: that trial fails, the study goes on
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return trial.number, None
    run = start_run(spec, store, owner=config.get("owner"), name=f"{base.name} · trial {trial.number}",
                    study=name, trial=trial.number)
    trial.set_user_attr("run_id", run.id)
    return trial.number, run.id


def _tell(study: Any, optuna: Any, number: int, run: Run | None, metric: str, store: RunStore,
          cut: bool = False) -> str:
    """Tell Optuna how a trial's run ended; the line the CLI prints for it. A run the time limit stopped
    (`cut`) counts with the best value it reached: its best weights were kept and evaluated like any run's."""
    states = optuna.trial.TrialState
    if run is not None and run.status == "stopped" and run.started is None:
        # The trial waiting in the queue when the study stopped or ran out of time: it never trained, so its
        # run goes, and the study's table leaves it out (a trial without its run).
        store.delete(run.id)
        study.tell(number, state=states.FAIL, skip_if_finished=True)
        return f"trial {number}: not started (the study ended first)"
    value = studies.value_of(run, metric) if run else None
    done = ("completed", "stopped") if cut else ("completed",)
    if run is not None and run.status in done and value is not None:
        study.tell(number, value, skip_if_finished=True)
    elif run is not None and run.status == "pruned":
        study.tell(number, state=states.PRUNED, skip_if_finished=True)
    else:  # failed, stopped, cut off or deleted: the sampler learns nothing from it
        study.tell(number, state=states.FAIL, skip_if_finished=True)
    params = study.trials[number].params
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    status = run.status if run else "deleted"
    best = f" {metric} {value:.4f}" if value is not None else ""
    return f"trial {number}: {status}{best} ({shown}) run {run.id if run else '—'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layerlab-tune-driver")
    parser.add_argument("study")
    parser.add_argument("--runs-dir", required=True)
    args = parser.parse_args(argv)
    store = RunStore(args.runs_dir)
    try:
        drive(args.study, store, echo=lambda line: print(line, flush=True))
    finally:
        dispatch(store)
    return 0


def launch_driver(name: str, store: RunStore) -> int:
    """Start the driver as its own process (the Tune page: Optuna never runs in a Streamlit script thread)."""
    from layerlab.runs.runner import launch

    studies.clear_stop(name)
    pid = launch("layerlab.tune.driver", name, "--runs-dir", str(store.root),
                 log=studies.journal_path(name).with_suffix(".log"))
    if not studies.running(name):  # the driver has not written its own state yet
        studies.write_driver(name, state="starting", pid=pid)
    return pid


if __name__ == "__main__":
    sys.exit(main())
