"""Predict: use a trained run on new inputs of its kind, take it away, or bring work from elsewhere."""

from __future__ import annotations

import streamlit as st

from components import errors, export_panel, model_cache, nav, predict, run_picker, shell, state
from components.predict.outside import own_model_view


def import_section() -> None:
    """Continue a saved project, or try a .keras model made elsewhere."""
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("##### Continue a project")
        st.caption("Open a project file someone saved (from the Export tab): its data, preparation, model and "
                   "training settings become this session's project.")
        export_panel.project_upload("predict_project_file")
    with right:
        st.markdown("##### Try a model made elsewhere")
        st.caption("A Keras 3 image model saved as `.keras`; the page reads its input size from the model.")
        own_model_view()


nav.ensure_app()
st.title(shell.PREDICT)
with errors.guard():
    store = state.run_store(read_only=True)
    if not run_picker.candidates(store, need="model"):
        st.info("No finished run yet — train one on the **Train** page, or bring a project or a model below.",
                icon=":material/info:")
        nav.link(shell.TRAIN, "Go to Train")
        st.divider()
        import_section()
        st.stop()
    run = run_picker.pick_run(store, need="model", key="predict_run")
    model_cache.start_host()  # in the background, while Export and Import are drawn
    # A model that cannot be loaded says so in the Predict tab; Export and Import stay usable.
    predict_tab, export_tab, import_tab = st.tabs([":material/online_prediction: Predict", ":material/download: Export",
                                                   ":material/upload: Import"])
    # Export and Import first: the Predict tab may wait for TensorFlow, and the page is drawn as it runs.
    with export_tab:
        export_panel.export_panel(run.path, key="predict_export")
    with import_tab:
        import_section()
    with predict_tab:
        with errors.guard():
            # The model runs in the model host process (the server never imports TensorFlow): the first time
            # after the server starts, this tab waits for it to start, the rest of the page drawn.
            model_cache.wait_for_host()
            predictor = model_cache.get_predictor(run.path)
            st.caption(predict.describe(predictor))
            predict.show(predictor, run.id)
        nav.link(shell.EVALUATE, "See how this run did on its test set", ":material/analytics:")
