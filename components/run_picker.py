"""Pick a finished run of this session (a run id of another session's run opens nothing: see `state.restore`).

The default is the current run (`state.run_id()`) when it qualifies, else the newest; a
different pick becomes the current run, so the next page opens on the same one.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from components import nav, shell, state
from layerlab.runs.store import Run, RunStore

USABLE = ("completed", "stopped", "interrupted", "pruned")


def _qualifies(run: Run, need: str) -> bool:
    if run.status not in USABLE:
        return False
    if need == "evaluation":
        return run.files.has_evaluation
    return run.has_model


def candidates(store: RunStore, need: str = "model") -> list[Run]:
    """Finished runs of this session that have `need` ("model" or "evaluation"), newest first."""
    return [r for r in store.list(statuses=USABLE, owner=state.owner()) if _qualifies(r, need)]


def label(run: Run) -> str:
    acc = run.test_metrics.get("accuracy")
    parts = [run.name, run.status]
    if acc is not None:
        parts.append(f"test accuracy {acc:.1%}")
    if run.started:
        parts.append(datetime.fromtimestamp(run.started).strftime("%d %b %H:%M"))
    return " · ".join(parts)


def _pick(key: str) -> None:
    state.set_run(st.session_state[key])


def pick_run(store: RunStore, *, need: str = "model", key: str = "run_picker") -> Run:
    """A selectbox of qualifying runs; stops the page with a link to Train when there is none."""
    runs = candidates(store, need)
    if not runs:
        st.info("No finished run yet — train one on the **Train** page.", icon=":material/info:")
        nav.link(shell.TRAIN, "Go to Train")
        st.stop()
    ids = [r.id for r in runs]
    by_id = {r.id: r for r in runs}
    current = state.run_id()
    index = ids.index(current) if current in ids else 0
    chosen = st.selectbox("Run", ids, index=index, format_func=lambda i: label(by_id[i]), key=key,
                          on_change=_pick, args=(key,),
                          help="Finished runs started in this session.")
    return by_id[chosen]
