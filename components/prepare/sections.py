"""The Prepare page's settings per kind of data (table, text, series) and the split."""

from __future__ import annotations

import streamlit as st

from components import state
from components.errors import edit, guard
from components.markup import code, message
from components.prepare.cached import series_plan, split_sizes, text_coverage
from components.prepare.fields import FLAG, field
from components.prepare.figures import split_figure
from layerlab.spec import ProjectSpec, SeriesPrep


def table_section(spec: ProjectSpec) -> None:
    t = spec.prepare.table
    with st.container(border=True):
        st.subheader("Missing values, scaling and categories")
        numbers, categories = st.columns(2, gap="large")
        with numbers:
            st.markdown("**Numbers**")
            field("prepare.table.impute_numeric", t.impute_numeric)
            if t.impute_numeric == "constant":
                field("prepare.table.fill_value", t.fill_value)
            field("prepare.table.scale", t.scale)
        with categories:
            st.markdown("**Categories**")
            field("prepare.table.impute_categorical", t.impute_categorical)
            field("prepare.table.encode", t.encode)
            if t.encode == "embedding":
                field("prepare.table.embedding_dim", t.embedding_dim)
        field("prepare.table.drop_constant_and_ids", t.drop_constant_and_ids)
        with guard():
            from components.model_view import describe

            info = describe(spec)
            columns = info.extra.get("columns", [])
            n_num = sum(c["type"] == "numeric" for c in columns)
            st.caption(f"Each row becomes **{info.input_shape[0]:,}** numbers for the model: {n_num} numeric "
                       f"column(s) and {len(columns) - n_num} categorical column(s). Everything is learned from "
                       "the training rows only and saved inside the trained model, so predictions take raw rows.")


def text_section(spec: ProjectSpec) -> None:
    t = spec.prepare.text
    with st.container(border=True):
        st.subheader("Words and vocabulary")
        c1, c2, c3 = st.columns(3)
        with c1:
            field("prepare.text.lowercase", t.lowercase)
            field("prepare.text.strip_punctuation", t.strip_punctuation)
        with c2:
            field("prepare.text.vocab_size", t.vocab_size)
            field("prepare.text.sequence_length", t.sequence_length)
        with c3:
            field("prepare.text.ngrams", t.ngrams)
        with guard(), st.spinner("Building the vocabulary from the training texts…"):
            cov = text_coverage(spec)
            m1, m2, m3 = st.columns(3)
            m1.metric("Vocabulary", f"{cov['vocab']:,} words",
                      help=f"Fitted on a random sample of {cov['sample']:,} training texts.")
            m2.metric("Known words in unseen texts", f"{cov['heldout']:.0%}",
                      help="Share of the words in validation texts that are in the vocabulary; the rest become "
                           f"'unknown'. On the training sample: {cov['coverage']:.0%}.")
            m3.metric("Texts cut", f"{cov['cut']:.0%}", help=f"Validation texts longer than {t.sequence_length} "
                      "tokens, which are cut to fit.")
            for note in cov["notes"][1:]:
                st.caption(f":material/info: {message(note)}")


def _targets_changed(key: str) -> None:
    spec = state.project()
    chosen = list(st.session_state[key])
    targets = None if chosen in ([], [spec.data.target]) else chosen
    edit(FLAG, check=_check_series, **{"prepare.series.targets": targets})


def _check_series(new: ProjectSpec) -> None:
    series_plan(new)


def _set_checked(path: str, key: str) -> None:
    edit(FLAG, check=_check_series, **{path: st.session_state[key]})


def series_section(spec: ProjectSpec, numeric: list[str]) -> None:
    s = spec.prepare.series
    with st.container(border=True):
        st.subheader("Gaps, scaling and windows")
        c1, c2, c3 = st.columns(3)
        with c1:
            field("prepare.series.fill", s.fill, on_change=_set_checked)
        with c2:
            field("prepare.series.scale", s.scale)
        with c3:
            if "predict" in SeriesPrep.model_fields:
                field("prepare.series.predict", getattr(s, "predict"))
        c1, c2, c3 = st.columns(3)
        with c1:
            field("prepare.series.window", s.window, on_change=_set_checked)
        with c2:
            field("prepare.series.horizon", s.horizon, on_change=_set_checked)
        with c3:
            field("prepare.series.stride", s.stride, on_change=_set_checked)
        key = "prepare.prepare.series.targets"
        current = list(s.targets or ([spec.data.target] if spec.data.target else []))
        options = list(dict.fromkeys([*numeric, *current]))
        if st.session_state.get(key) != current:
            st.session_state[key] = current
        st.multiselect("Columns to forecast", options, key=key, on_change=_targets_changed, args=(key,),
                       help="One column for a univariate forecast; several to forecast them together "
                            "(multivariate). The other numeric columns are inputs only.")
        st.caption(f"{'Univariate' if len(current) <= 1 else 'Multivariate'}: each example is the last "
                   f"**{s.window}** steps; the model forecasts the next **{s.horizon}** step(s) of "
                   f"{', '.join(code(c) for c in current) or 'the target'}.")


def split_section(spec: ProjectSpec) -> None:
    split = spec.prepare.split
    kind, task = spec.data.kind, spec.data.task
    with st.container(border=True):
        st.subheader("Split")
        series = kind == "series"
        on_change = _set_checked if series else None
        c1, c2, c3 = st.columns([2, 2, 1])
        with c1:
            field("prepare.split.validation", split.validation, on_change=on_change)
        with c2:
            field("prepare.split.test", split.test, on_change=on_change)
        with c3:
            st.metric("Training share", f"{split.train:.0%}", help="What is left after validation and test.")
        if series:
            st.info("A series is split **by time**: the earliest part trains the model, the next part validates "
                    "it and the latest part tests it. Windows are never shuffled across these parts, so the "
                    "model is always tested on a future it has not seen.", icon=":material/schedule:")
            with guard():
                plan = series_plan(spec)
                sizes = plan["sizes"]
                st.caption(f"**{sizes['train']:,}** windows to train on · **{sizes['validation']:,}** to validate · "
                           f"**{sizes['test']:,}** to test (from {plan['n']:,} time steps).")
                st.plotly_chart(split_figure(plan, spec.data.date), width="stretch", key="prepare.split.chart")
            return
        c1, c2 = st.columns([1, 2])
        with c1:
            field("prepare.split.seed", split.seed)
        with c2:
            if task == "classification":
                field("prepare.split.stratify", split.stratify)
                if kind != "images":
                    from components.health_report import class_weights_toggle

                    class_weights_toggle(spec, key="prepare.class_weights", flag=FLAG)
            else:
                st.caption("Rows are shuffled with the seed and split at random.")
        with guard():
            sizes = split_sizes(spec)
            what = {"text": "texts", "images": "images"}.get(kind, "rows")
            st.caption(f"**{sizes['train']:,}** {what} to train on · **{sizes['validation']:,}** to validate · "
                       f"**{sizes['test']:,}** to test. Validation and test together must leave at least 30% "
                       "for training.")
