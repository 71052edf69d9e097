"""The training settings on the Train page, and the actions that train a run further.

Every widget is bound to one field of the project's `train` section: before it is drawn
its value is set from the spec, and its `on_change` callback writes the new value through
the spec's validation (`errors.edit`), so a refused value snaps back and its reason shows
under the settings. Nothing here trains: `start_run` / `continue_run` in the engine do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from components import errors, run_compare, state
from components.markup import md
from components.param_widgets import spec_widget
from layerlab import device, identity
from layerlab.spec import ProjectSpec
from layerlab.spec_meta import field_param
from layerlab.train import insights, phases
from layerlab.runs.store import Run, RunStore

ERROR_FLAG = "train_settings_error"
GPU_NOTE = "needs an NVIDIA GPU; this machine trains on the CPU"

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024]
DECAYS = [0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
LR_FACTORS = [0.01, 0.03, 0.1, 0.3, 0.5, 1.0]  # phase 2's learning rate, times the first phase's
SCHEDULE_HELP = {
    "constant": "The learning rate stays the same for the whole run.",
    "plateau": "Multiplies the learning rate by the decay factor when the validation loss has not improved "
               "for 2 epochs (Keras ReduceLROnPlateau).",
    "cosine": "Lowers the learning rate along a half cosine, from the chosen rate to almost 0 at the last epoch.",
    "exponential": "Multiplies the learning rate by the decay factor after every epoch.",
}
FINETUNE_STATUSES = ("completed", "stopped", "pruned")
CONTINUE_STATUSES = ("completed", "stopped", "interrupted", "pruned")
DEFAULT_PATIENCE = 5
FRESH = "fresh"  # the "Start from" option for random initial weights
FINE_TUNE_HELP = ("Phase 1 trains the layers that are not frozen; phase 2 then unfreezes the frozen part's top layers "
                  "(batch normalisation stays frozen) and trains on at a lower learning rate. 0 layers skips phase 2.")


# ---- the device ------------------------------------------------------------------------------


def gpu_names() -> list[str]:
    """This machine's GPUs (asked once per session: nvidia-smi takes a moment)."""
    if "train_gpus" not in st.session_state:
        st.session_state["train_gpus"] = device.gpu_names_quick()
    return st.session_state["train_gpus"]


def device_label(names: list[str], ray: bool = False) -> str:
    """The GPUs (with their memory) a run here trains on; with runs on Ray, the cluster picks the node."""
    if ray:
        return "a node of the Ray cluster (its GPU if it has one)"
    if not names:
        return device.NO_GPU
    return names[0] if len(names) == 1 else f"{len(names)} × {names[0]}"


# ---- binding widgets to the spec -------------------------------------------------------------


def _bind(key: str, value: Any) -> None:
    """Show the spec's value in the widget `key` (set before the widget is drawn).

    Set on every run, even when unchanged: a value set through the Session State API is
    sent to the browser only in the run that set it, and a run cut short by a rerun (the
    live view reruns the page when a run ends) never reaches the browser, which would then
    show the widget's first option while the project holds another value.
    """
    st.session_state[key] = value


def _write(key: str, field: str) -> None:
    """on_change: the widget's new value into train.<field>, validated."""
    errors.edit(ERROR_FLAG, **{f"train.{field}": st.session_state[key]})


def _toggle_early_stopping() -> None:
    on = st.session_state["train_es"]
    patience = st.session_state.get("train_patience") or DEFAULT_PATIENCE
    errors.edit(ERROR_FLAG, **{"train.early_stopping_patience": int(patience) if on else 0})


def _options(values: list, current: Any) -> list:
    return sorted(set(values) | {current})


# ---- the settings ----------------------------------------------------------------------------


def basic(spec: ProjectSpec, disabled: bool) -> None:
    """Epochs, batch size, optimizer and learning rate (labels, help and limits from the spec's schema)."""
    t = spec.train
    _bind("train_lr", t.learning_rate)
    lr = field_param("train.learning_rate")
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        spec_widget(spec, "train.epochs", ERROR_FLAG, key="train_epochs", disabled=disabled)
    with c2:
        batch = field_param("train.batch_size")
        spec_widget(spec, "train.batch_size", ERROR_FLAG, key="train_batch", disabled=disabled,
                    param=replace(batch, kind="choice", choices=tuple(_options(BATCH_SIZES, t.batch_size))))
    with c3:
        spec_widget(spec, "train.optimizer", ERROR_FLAG, key="train_optimizer", disabled=disabled)
    c4.select_slider(lr.title, _options(LEARNING_RATES, t.learning_rate), format_func=lambda v: f"{v:g}",
                     key="train_lr", disabled=disabled, on_change=_write, args=("train_lr", "learning_rate"),
                     help=lr.help)
    fine_tuning(spec, disabled)


def fine_tuning(spec: ProjectSpec, disabled: bool) -> None:
    """Phase 2's settings (top layers to unfreeze, its epochs, its learning-rate factor), shown only when
    the model has a frozen layer: without one there is nothing to unfreeze."""
    if not phases.has_frozen(spec):
        return
    st.markdown("**Fine-tuning (phase 2)**")
    st.caption(FINE_TUNE_HELP)
    c1, c2, c3 = st.columns(3)
    skipped = disabled or not phases.planned(spec)  # 0 layers: phase 2's epochs and rate do not apply
    with c1:
        spec_widget(spec, "train.fine_tune_layers", ERROR_FLAG, key="train_ft_layers", disabled=disabled)
    with c2:
        spec_widget(spec, "train.fine_tune_epochs", ERROR_FLAG, key="train_ft_epochs", disabled=skipped)
    with c3:
        factors = tuple(_options(LR_FACTORS, spec.train.fine_tune_lr_factor))
        spec_widget(spec, "train.fine_tune_lr_factor", ERROR_FLAG, key="train_ft_factor", disabled=skipped,
                    param=replace(field_param("train.fine_tune_lr_factor"), kind="choice", choices=factors,
                                  choice_labels=tuple((v, f"× {v:g}") for v in factors)))


def advanced(spec: ProjectSpec, disabled: bool, gpus: list[str]) -> None:
    """Schedule, early stopping, checkpoints, seed, and the GPU-only options (in an expander)."""
    t = spec.train
    classification = spec.data.task == "classification"
    stop_metrics = ["val_loss", "val_accuracy" if classification else "val_mae"]
    if t.early_stopping_metric not in stop_metrics:
        stop_metrics.append(t.early_stopping_metric)
    es_on = t.early_stopping_patience > 0
    _bind("train_decay", t.lr_decay)
    _bind("train_es", es_on)
    # While early stopping is off the spec holds 0; the (disabled) box keeps the last patience.
    _bind("train_patience", t.early_stopping_patience or st.session_state.get("train_patience") or DEFAULT_PATIENCE)
    decay, patience = field_param("train.lr_decay"), field_param("train.early_stopping_patience")

    with st.expander("Advanced settings", icon=":material/tune:"):
        st.markdown("**Learning-rate schedule**")
        c1, c2 = st.columns(2)
        with c1:
            spec_widget(spec, "train.lr_schedule", ERROR_FLAG, key="train_schedule", disabled=disabled)
        decays = t.lr_schedule in ("plateau", "exponential")
        c2.select_slider(decay.title, _options(DECAYS, t.lr_decay), format_func=lambda v: f"× {v:g}",
                         key="train_decay", disabled=disabled or not decays, on_change=_write,
                         args=("train_decay", "lr_decay"),
                         help=decay.help if decays else "Used by the plateau and exponential schedules.")
        st.caption(SCHEDULE_HELP[t.lr_schedule])

        st.markdown("**Early stopping and checkpoints**")
        c1, c2, c3 = st.columns(3)
        c1.toggle("Stop early", key="train_es", disabled=disabled, on_change=_toggle_early_stopping,
                  help="End the run when the chosen validation metric has stopped improving.")
        with c2:
            watch = field_param("train.early_stopping_metric")
            spec_widget(spec, "train.early_stopping_metric", ERROR_FLAG, key="train_es_metric",
                        disabled=disabled or not es_on, param=replace(watch, choices=tuple(stop_metrics)))
        c3.number_input(patience.title, 1, int(patience.max), step=1, key="train_patience",
                        disabled=disabled or not es_on, on_change=_write,
                        args=("train_patience", "early_stopping_patience"), help=patience.help)
        c1, c2, c3 = st.columns(3)
        for col, path, key in ((c1, "train.keep_best_checkpoint", "train_keep_best"),
                               (c2, "train.restore_best_weights", "train_restore"), (c3, "train.seed", "train_seed")):
            with col:
                spec_widget(spec, path, ERROR_FLAG, key=key, disabled=disabled)

        st.markdown("**GPU**")
        on_gpu = bool(gpus)
        note = None if on_gpu else f"{GPU_NOTE[0].upper()}{GPU_NOTE[1:]}."
        c1, c2, _ = st.columns(3)
        for col, path, key in ((c1, "train.mixed_precision", "train_mixed"), (c2, "train.xla", "train_xla")):
            with col:
                p = field_param(path)
                spec_widget(spec, path, ERROR_FLAG, key=key, disabled=disabled or not on_gpu,
                            param=replace(p, help=note or p.help))
        c1, c2, _ = st.columns(3)  # the profile acts on a CPU too (slower there, but correct)
        for col, path, key in ((c1, "train.fast_gpu", "train_fast_gpu"), (c2, "train.steps_per_execution", "train_spe")):
            with col:
                spec_widget(spec, path, ERROR_FLAG, key=key, disabled=disabled)
        if on_gpu:
            st.caption(f":material/memory: Trains on {device_label(gpus)}.")
        else:
            st.caption(f":material/info: Mixed precision and XLA {GPU_NOTE}.")


def summary(spec: ProjectSpec) -> str:
    """One line of the advanced settings, for when the expander is closed."""
    t = spec.train
    parts = [f"{field_param('train.lr_schedule').choice_label(t.lr_schedule).lower()} learning rate"
             + (f" (× {t.lr_decay:g})" if t.lr_schedule in ("plateau", "exponential") else "")]
    if t.early_stopping_patience:
        parts.append(f"early stopping after {t.early_stopping_patience} epochs without a better "
                     f"{field_param('train.early_stopping_metric').choice_label(t.early_stopping_metric)}")
    else:
        parts.append("no early stopping")
    if t.keep_best_checkpoint or t.restore_best_weights:
        parts.append("best weights kept" if t.restore_best_weights else "best checkpoint saved")
    parts.append(f"seed {t.seed}")
    if t.mixed_precision:
        parts.append("mixed precision")
    if t.xla:
        parts.append("XLA")
    if t.fast_gpu:
        parts.append("fast-GPU profile")
    return " · ".join(parts)


# ---- fine-tuning -----------------------------------------------------------------------------


def run_spec(run: Run) -> dict[str, Any] | None:
    """The project document a run was trained with (its project.json), or None."""
    return run_compare.run_doc(run) or None


def finetune_candidates(store: RunStore, spec: ProjectSpec) -> list[Run]:
    """Finished runs of this session whose weights fit `spec`, newest first."""
    me, doc = state.owner(), spec.to_dict()
    out = []
    for run in store.list(statuses=FINETUNE_STATUSES):
        if not identity.mine(run.owner, me):
            continue
        other = run_spec(run)
        if other is not None and run.files.has_weights and insights.weights_fit(doc, other):
            out.append(run)
    return out


def _run_label(run: Run) -> str:
    metric = insights.main_metric(run.task)
    value = run.test_metrics.get(metric)
    shown = "" if value is None else (f" · test {metric} {value:.1%}" if metric == "accuracy"
                                      else f" · test {metric.upper()} {value:.4g}")
    return f"{run.name}{shown}"


def initial_weights(store: RunStore, spec: ProjectSpec, disabled: bool) -> None:
    """Fresh weights, or fine-tune: start from a finished run's weights (train.init_from_run)."""
    runs = finetune_candidates(store, spec)
    by_id = {r.id: r for r in runs}
    chosen = spec.train.init_from_run
    if chosen and chosen not in by_id:
        gone = store.get(chosen)
        reason = "no longer exists" if gone is None else "does not fit the current data and layers"
        if errors.edit(ERROR_FLAG, **{"train.init_from_run": None}):
            st.toast(f"The run to fine-tune from {reason}: the next run starts from fresh weights.",
                     icon=":material/info:")
        chosen = None
    _bind("train_init", chosen or FRESH)
    fresh = _starting_weights(spec)
    st.selectbox("Start from", [FRESH, *by_id], key="train_init", disabled=disabled or not runs,
                 format_func=lambda i: fresh if i == FRESH else f"Fine-tune: {_run_label(by_id[i])}",
                 on_change=_write_init,
                 help="Fine-tuning starts a new run from the weights of an earlier run with the same data and "
                      "layers, e.g. to train on with a lower learning rate."
                      if runs else "Finished runs of this session with the same data and layers appear here.")


def _starting_weights(spec: ProjectSpec) -> str:
    """What a new run starts from when it fine-tunes no run: random weights, or what Build's transfer set up."""
    if spec.model.start_from_run:
        return "As on Build: the earlier run's layers and weights, a new head"
    if any(layer.type == "keras_file" or (layer.type == "Backbone" and layer.params.get("weights") != "none")
           for layer in spec.model.layers):
        return "As on Build: pretrained layers, a new head"
    return "Fresh random weights"


def _write_init() -> None:
    chosen = st.session_state["train_init"]
    errors.edit(ERROR_FLAG, **{"train.init_from_run": None if chosen == FRESH else chosen})


# ---- continuing and fine-tuning a finished run -------------------------------------------------


def can_continue(run: Run) -> bool:
    """A run of this session with its last weights saved: finished, stopped, cut off, or failed after a checkpoint
    (a killed worker's run goes on from it; one that a NaN loss broke from the checkpoint before it)."""
    return (identity.mine(run.owner, state.owner()) and not run.active
            and (run.status in CONTINUE_STATUSES or (run.status == "failed" and run.files.saved_epochs() > 0))
            and run.files.has_checkpoint)


def train_more(store: RunStore, run: Run, spec: ProjectSpec | None) -> None:
    """Continue this run for N more epochs, or fine-tune a new run from it."""
    from layerlab.runs import runner

    if not run.has_model:  # cut off mid-run (killed, a restart): its checkpoint was never evaluated
        st.caption(f"This run ended before its test evaluation. Its checkpoint holds "
                   f"{run.files.saved_epochs()} epoch(s): evaluate it as it is, or train it on.")
        if st.button("Evaluate it as it is", icon=":material/analytics:", key="train_finish",
                     help="Test the checkpoint's weights and save the model that Evaluate and Predict use; "
                          "no more training."):
            with errors.guard():
                runner.continue_run(store, run.id, 0, owner=state.owner())
                state.set_run(run.id)
                st.rerun(scope="app")
    c1, c2, c3 = st.columns([1, 1.2, 1.6], vertical_alignment="bottom")
    more = c1.number_input("How many more", 1, int(field_param("train.epochs").max), value=5, step=1, key="train_more",
                           help="Epochs to add to this run; it trains on from its last epoch's weights.")
    if c2.button("Continue training", icon=":material/resume:", key="train_continue",
                 help=f"Train {md(run.name)} for {more} more epoch(s): its curves go on where they stopped."):
        with errors.guard():
            runner.continue_run(store, run.id, int(more), owner=state.owner())
            state.set_run(run.id)
            st.rerun(scope="app")
    fits = (spec is not None and run.status in FINETUNE_STATUSES and run.files.has_weights
            and insights.weights_fit(spec.to_dict(), run_spec(run) or {}))
    if spec is not None and spec.train.init_from_run == run.id:
        c3.caption(":material/check: The next run starts from these weights.")
    elif c3.button("Fine-tune from this run", icon=":material/call_split:", key="train_finetune_this",
                   disabled=not fits,
                   help="Set this run's weights as the start of the next run; change the settings, then Start."
                   if fits else "Its data or layers differ from the current project's."):
        if errors.edit(ERROR_FLAG, **{"train.init_from_run": run.id}):
            st.toast(f"The next run starts from the weights of {md(run.name)}.", icon=":material/call_split:")
            st.rerun(scope="app")
