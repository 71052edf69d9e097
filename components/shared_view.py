"""The read-only view a share link opens: one run's curves, metrics and predictions, nothing to change.

What the link may show beyond that (the model file, rows of the test set) is its Share's to say
(`layerlab.sharing`); this component only lays it out.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import streamlit as st

from components import errors, predict, run_status, training_chart
from components.evaluate import sections
from components.markup import md
from components.model_cache import get_predictor
from layerlab.runs.files import MODEL
from layerlab.runs.store import Run, RunStore
from layerlab.sharing import Share

NOT_OPEN = ("This link does not open anything: it was revoked, it expired, or it was never made. "
            "Ask the run's owner for a new link.")


def show(store: RunStore, run: Run, share: Share) -> None:
    """The shared run, read-only; the model download and the test rows only if the share allows them."""
    st.title(f"Shared run: {md(run.name)}")
    until = datetime.fromtimestamp(share.expires).strftime("%d %b %Y, %H:%M")
    st.caption(f"A read-only view its owner shared with you, until {until}. " +
               ("It includes rows of the test set. " if share.allow_rows else "") +
               ("The model can be downloaded." if share.allow_model else "The model file is not shared."))
    run_status.show(run, None)
    curves, evaluation, predictions = st.tabs([":material/show_chart: Curves", ":material/analytics: Evaluation",
                                               ":material/online_prediction: Predict"])
    with curves:
        rows = training_chart.read_new_rows(store, run.id, slot="shared_rows")
        if rows:
            training_chart.show(rows, run, key="shared-chart")
        else:
            st.caption("No training curves recorded yet.")
    with evaluation:
        if run.files.has_evaluation:
            with errors.guard():
                sections.show(run, rows=share.allow_rows, links=False)
        else:
            st.caption("This run has no test evaluation.")
    with predictions:
        if not run.has_model:
            st.caption("This run saved no model.")
        else:
            with errors.guard():
                predictor = get_predictor(run.path)
                st.caption(predict.describe(predictor))
                predict.show(predictor, run.id)
            if share.allow_model:
                st.download_button("Download model.keras", data=partial(run.files.read_bytes, MODEL),
                                   file_name=f"{run.file_stem}.keras", mime="application/octet-stream",
                                   icon=":material/download:", key="shared_download", on_click="ignore")
