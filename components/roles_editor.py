"""The column roles editor: what each column is for (target, feature, text, date, ignore) and the
task, pre-filled from the project; applying re-creates the project with `new_project`.

`project_from_roles` is the pure part (no widgets): it checks the combination, calls
`new_project(source, target=…, text=…, date=…, task=…, frame=df)` keeping the user's source,
then sets what `new_project` has no argument for (ignored and feature columns, no text/date).
A wrong combination raises DataError with a plain message; the page keeps the last good project.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from components import state
from components.markup import md
from components.errors import flag, show_flagged
from components.table_view import read_frame, roles_of_columns
from layerlab.workspace import source_stamp
from layerlab.errors import DataError, LayerlabError
from layerlab.spec import ProjectSpec

FLAG = "data.roles.error"
ROLES = ("feature", "target", "text", "date", "ignore")
ROLE_WORDS = {"feature": "Feature", "target": "Target", "text": "Text", "date": "Date", "ignore": "Ignore"}
ROLE_LEGEND = ("**Target**: what to predict (or forecast) · **Feature**: an input · **Text**: the text to read · "
               "**Date**: the time axis of a series · **Ignore**: left out")
TASKS = ("classification", "regression", "forecasting")
TASK_WORDS = {"classification": "Classification: predict a label", "regression": "Regression: predict a number",
              "forecasting": "Forecasting: predict the next values over time"}
PER_COLUMN_LIMIT = 60  # above this many columns, the compact editor (a few pickers) is used
_NONE = "(none)"


def _quoted(names: list[str]) -> str:
    return ", ".join(md(n) for n in names)


def project_from_roles(spec: ProjectSpec, df: pd.DataFrame, roles: dict[str, str], task: str) -> ProjectSpec:
    """A new project for `spec`'s source with these column roles and this task.

    Keeps the project's name; when the kind of data stays the same it also keeps the
    preparation settings and the model's layers (the Build page checks they still fit).

    Raises:
        DataError: a combination the data kinds cannot use (two targets, text with
            regression, a date without forecasting, no inputs left, …).
    """
    from layerlab.project import describe_data, new_project, with_template
    from layerlab.models.templates import default_template

    if task not in TASKS:
        raise DataError(f"Unknown task `{task}`.", f"Choose one of: {', '.join(TASKS)}.")
    unknown = [c for c, r in roles.items() if r not in ROLES]
    if unknown:
        raise DataError(f"Unknown role for {_quoted(unknown[:3])}.", f"Choose one of: {', '.join(ROLES)}.")
    by = {r: [c for c in df.columns if roles.get(str(c), "feature") == r] for r in ROLES}
    by = {r: [str(c) for c in cols] for r, cols in by.items()}
    targets, texts, dates = by["target"], by["text"], by["date"]
    if len(texts) > 1:
        raise DataError(f"Only one column can be the text; {_quoted(texts)} are all marked as text.",
                        "Keep one text column and mark the others as ignore.")
    if len(dates) > 1:
        raise DataError(f"Only one column can be the date; {_quoted(dates)} are all marked as date.",
                        "Keep one date column and mark the others as feature or ignore.")
    if not targets:
        raise DataError("No column is marked as the target.",
                        "Mark the column you want to predict (or forecast) as target.")
    if task == "forecasting":
        if texts:
            raise DataError(f"Forecasting reads numbers over time, not text, but {_quoted(texts)} is marked as text.",
                            "Mark it as ignore, or choose classification as the task.")
        kind = "series"
    else:
        if len(targets) > 1:
            raise DataError(f"{task.capitalize()} predicts one column, but {_quoted(targets)} are all marked "
                            "as target.", "Keep one target (several targets are for forecasting).")
        if dates:
            raise DataError(f"`{dates[0]}` is marked as the date, which only forecasting uses.",
                            "Choose forecasting as the task, or mark the date column as feature or ignore.")
        kind = "text" if texts else "table"
        if kind == "text" and task != "classification":
            raise DataError(f"Text is used for classification, not {task}.",
                            "Choose classification as the task, or mark the text column as ignore.")
        if task == "regression":
            y = df[targets[0]]
            if not (pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype)):
                raise DataError(f"Regression predicts numbers, but the target `{targets[0]}` does not hold numbers.",
                                "Choose classification as the task, or a numeric target.")
    target, text, date = targets[0], (texts[0] if texts else None), (dates[0] if dates else None)

    # new_project refuses forecasting without a date; a series may still use the row order as time.
    made = new_project(spec.data.source, target=target, text=text, date=date,
                       task=task if (kind != "series" or date) else None, name=spec.name, frame=df)
    changes: dict[str, Any] = {
        "data.kind": kind, "data.task": task, "data.target": target,
        "data.text": text if kind == "text" else None,
        "data.date": date if kind == "series" else None,
        "data.ignore": by["ignore"] + (by["feature"] if kind == "text" else []),
        "data.features": None if kind == "text" else by["feature"],
        "prepare.series.targets": targets if kind == "series" and len(targets) > 1 else None,
    }
    same_kind = kind == spec.data.kind
    if same_kind:
        prepare = spec.prepare.model_dump(mode="json")
        prepare["series"]["targets"] = changes.pop("prepare.series.targets")
        changes["prepare"] = prepare
        changes["model"] = spec.model.model_dump(mode="json")
    new = made.edit(**changes)
    info = describe_data(new, df)  # raises DataError for what the data cannot do (no inputs, text values…)
    if same_kind:
        return new
    template = made.model.template if made.data.kind == kind else default_template(kind)
    return with_template(new, template, info)


def _signature(spec: ProjectSpec) -> str:
    d = spec.data
    return json.dumps([d.source, d.kind, d.task, d.target, d.text, d.date, d.features, d.ignore,
                       spec.prepare.series.targets])


def _role_key(i: int) -> str:
    return f"data.role.{i}"


def _apply(names: list[str], compact: bool) -> None:
    """Form callback: build the roles from the widgets and re-create the project."""
    spec = state.project()
    if spec is None:
        return
    task = st.session_state["data.task"]
    if compact:
        roles = {n: "feature" for n in names}
        for n in st.session_state.get("data.roles.ignore", []):
            roles[n] = "ignore"
        for role in ("text", "date"):
            chosen = st.session_state.get(f"data.roles.{role}", _NONE)
            if chosen != _NONE:
                roles[chosen] = role
        for n in st.session_state.get("data.roles.targets", []):
            roles[n] = "target"
    else:
        roles = {n: st.session_state[_role_key(i)] for i, n in enumerate(names)}
    try:
        df = read_frame(spec.data.source, source_stamp(spec.data.source))["frame"]
        new = project_from_roles(spec, df, roles, task)
    except LayerlabError as exc:
        flag(FLAG, exc)
        return
    except Exception as exc:  # noqa: BLE001 - shown in words; the last good project stays
        flag(FLAG, exc)
        return
    st.session_state.pop(FLAG, None)
    state.set_project(new)


def _sync(spec: ProjectSpec, names: list[str], roles: dict[str, str], compact: bool) -> None:
    """Show the project's roles in the widgets when the project changed (not after a refusal)."""
    sig = _signature(spec)
    if st.session_state.get("data.roles.synced") == sig and "data.task" in st.session_state:
        return
    st.session_state["data.roles.synced"] = sig
    st.session_state["data.task"] = spec.data.task
    if compact:
        st.session_state["data.roles.targets"] = [n for n in names if roles[n] == "target"]
        st.session_state["data.roles.text"] = next((n for n in names if roles[n] == "text"), _NONE)
        st.session_state["data.roles.date"] = next((n for n in names if roles[n] == "date"), _NONE)
        st.session_state["data.roles.ignore"] = [n for n in names if roles[n] == "ignore"]
    else:
        for i, n in enumerate(names):
            st.session_state[_role_key(i)] = roles[n]


def roles_editor(spec: ProjectSpec, ov: dict[str, Any]) -> None:
    """The form: a task, and a role for every column (or a few pickers for very wide tables)."""
    names, types, prof = ov["names"], ov["types"], ov["profile"]
    roles = roles_of_columns(spec, names, types)
    compact = len(names) > PER_COLUMN_LIMIT
    _sync(spec, names, roles, compact)
    show_flagged(FLAG)
    with st.form("data.roles", border=True):
        task_col, _ = st.columns([2, 3])
        task_col.selectbox("Task", TASKS, key="data.task", format_func=TASK_WORDS.get,
                           help="Classification and regression learn from rows (or texts); forecasting learns "
                                "from the past values of a series.")
        if compact:
            st.caption(f"{len(names):,} columns: every column is a feature unless chosen below.")
            st.multiselect("Target (several only for forecasting)", names, key="data.roles.targets")
            c1, c2 = st.columns(2)
            c1.selectbox("Text column", [_NONE, *names], key="data.roles.text")
            c2.selectbox("Date column", [_NONE, *names], key="data.roles.date")
            st.multiselect("Ignored columns", names, key="data.roles.ignore")
        else:
            st.caption(ROLE_LEGEND)
            per_row = 1 if len(names) <= 4 else (2 if len(names) <= 12 else 3)
            grid = st.columns(per_row, gap="large")
            for i, name in enumerate(names):
                c = prof.column_profiles[i]
                with grid[i % per_row]:
                    label, role = st.columns([3, 2], vertical_alignment="center")
                    with label:
                        st.text(name)  # plain text: a column name is never read as markdown or HTML
                        st.caption(f"{c.type} · {c.missing_pct:.0f}% missing")
                    role.selectbox(f"Role of column {i + 1}", ROLES, key=_role_key(i), format_func=ROLE_WORDS.get,
                                   label_visibility="collapsed")
        st.form_submit_button("Apply roles", key="data.roles.apply", type="primary", icon=":material/check:",
                              on_click=_apply, args=(names, compact))
    st.caption("Applying re-creates the project for the same data. It keeps your preparation settings and "
               "layers while the kind of data stays the same.")


@st.cache_data(max_entries=32, show_spinner=False)
def _describe(data_json: str, prepare_json: str, stamp: tuple[float, int]) -> Any:
    from layerlab.project import describe_data
    from layerlab.spec import load_spec

    spec = load_spec({"data": json.loads(data_json), "prepare": json.loads(prepare_json)})
    return describe_data(spec, read_frame(spec.data.source, stamp)["frame"])


def describe(spec: ProjectSpec) -> Any:
    """describe_data for the project's data and preparation (cached: layers, split and augmentation do not matter)."""
    p = spec.prepare
    prepare = json.dumps({"table": p.table.model_dump(mode="json"), "text": p.text.model_dump(mode="json"),
                          "series": p.series.model_dump(mode="json")}, sort_keys=True)
    return _describe(spec.data.model_dump_json(), prepare, source_stamp(spec.data.source))


def model_view(spec: ProjectSpec) -> None:
    """What the model will see, in words, from describe_data."""
    info = describe(spec)
    kind = info.kind
    if kind == "table":
        columns = info.extra.get("columns", [])
        numeric = [c for c in columns if c["type"] == "numeric"]
        cats = [c for c in columns if c["type"] != "numeric"]
        m1, m2 = st.columns(2)
        m1.metric("Inputs", f"{info.input_shape[0]:,}", help="Numbers per row after filling, scaling "
                  "and encoding: the size of the model's first layer.")
        if info.task == "classification":
            m2.metric("Classes", f"{len(info.class_names):,}")
        else:
            m2.metric("Predicts", "one number")
        st.caption(f"From {len(columns)} column(s): {len(numeric)} numeric, {len(cats)} categorical.")
        enc = spec.prepare.table.encode
        per_cat = {"one_hot": lambda c: f"{len(c['categories']) + 1} values (one-hot)",
                   "integer": lambda c: "1 value (category number)",
                   "embedding": lambda c: f"{spec.prepare.table.embedding_dim} values (embedding)"}[enc]
        rows = [{"column": c["name"], "type": c["type"],
                 "becomes": "1 number" if c["type"] == "numeric" else per_cat(c)} for c in columns]
        st.dataframe(pd.DataFrame(rows, columns=["column", "type", "becomes"]), hide_index=True,
                     key="data.model_view", height=min(35 * (len(rows) + 1) + 3, 320))
        if info.task == "classification":
            st.caption(f"Predicts one of {len(info.class_names)} classes of {md(info.extra.get('target'))}.")
        else:
            st.caption(f"Predicts the number in {md(info.extra.get('target'))}.")
    elif kind == "text":
        m1, m2, m3 = st.columns(3)
        m1.metric("Words", f"{info.extra['sequence_length']:,}",
                  help="Each text becomes this many word numbers: longer texts are cut, shorter ones padded.")
        m2.metric("Vocabulary", f"{info.extra['vocab_size']:,}", help="At most this many of the most frequent "
                  "words; others become one 'unknown' word.")
        m3.metric("Classes", f"{len(info.class_names):,}")
        st.caption(f"Reads {md(info.extra.get('text'))} and predicts {md(info.extra.get('target'))}.")
    elif kind == "series":
        feats, targets = info.extra.get("features", []), info.extra.get("targets", [])
        window, n = info.input_shape
        m1, m2, m3 = st.columns(3)
        m1.metric("Window", f"{window:,}", help="How many past time steps each forecast looks at.")
        m2.metric("Inputs", f"{n:,}", help="Values per time step: " + _quoted(feats))
        m3.metric("Horizon", f"{info.extra.get('horizon', 1)}",
                  help=f"Time steps forecast ahead, of {_quoted(targets)}.")
        st.caption(f"Looks at the last {window} steps of {_quoted(feats)} and forecasts the next "
                   f"{info.extra.get('horizon', 1)} step(s) of {_quoted(targets)}.")
    if info.class_names and kind != "series":
        shown = _quoted([str(c) for c in info.class_names[:12]]) + (" …" if len(info.class_names) > 12 else "")
        st.caption(f"Classes: {shown}")
