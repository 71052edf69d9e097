"""The health check of a table-like project: a short list of findings a beginner can act on
(from `layerlab.data.health.health_report`), errors first; class imbalance offers class weights."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components.errors import edit, show_flagged
from components.markup import message
from components.table_view import overview, read_frame
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec
from layerlab.workspace import source_stamp

FLAG = "data.health.error"
WEIGHTS_KEY = "data.class_weights"
_BOX = {"error": (st.error, ":material/error:"), "warning": (st.warning, ":material/warning:"),
        "info": (st.info, ":material/info:")}


def roles_json(spec: ProjectSpec) -> str:
    """The project's roles as the health check reads them (the cache key)."""
    d = spec.data
    return json.dumps({"kind": d.kind, "task": d.task, "target": d.target, "text": d.text, "date": d.date,
                       "features": d.features, "ignore": d.ignore, "targets": spec.prepare.series.targets,
                       "drop": spec.prepare.table.drop_constant_and_ids})


@st.cache_data(max_entries=16, show_spinner=False)
def findings(source: str, stamp: tuple[float, int], roles: str) -> list[Any]:
    """health_report for this source and these roles (cached: a big table takes a while)."""
    import pandas as pd

    from layerlab.data.health import health_report
    from layerlab.data.profile import Roles

    r = json.loads(roles)
    df = read_frame(source, stamp)["frame"]
    prof = overview(source, stamp)["profile"]
    skip = {r["target"], r["text"], r["date"], *r["ignore"]}
    if r["kind"] == "text":
        features: list[str] = []
    elif r["features"] is not None:
        features = [c for c in r["features"] if c not in skip]
    else:
        features = [str(c) for c in df.columns if c not in skip]
        if r["kind"] == "series":
            features = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
    target = r["target"] if r["kind"] != "series" or not r["targets"] else r["targets"][0]
    roles_ = Roles(kind=r["kind"], task=r["task"], target=target, text=r["text"], date=r["date"],
                   features=features, ignore=list(r["ignore"]))
    return health_report(df, roles_, prof)


def _set_weights(key: str, flag: str) -> None:
    edit(flag, **{"prepare.class_weights": bool(st.session_state[key])})


def class_weights_toggle(spec: ProjectSpec, key: str = WEIGHTS_KEY, flag: str = FLAG) -> None:
    """The 'Weight classes in training' toggle, bound to spec.prepare.class_weights."""
    if st.session_state.get(key) != spec.prepare.class_weights:
        st.session_state[key] = spec.prepare.class_weights
    st.toggle("Weight classes in training", key=key, on_change=_set_weights, args=(key, flag),
              help="Mistakes on a rare class count more, in proportion to how rare it is, so the model "
                   "cannot score well by ignoring it.")


def series_findings(spec: ProjectSpec) -> list[Any]:
    """What reading the dates found (gaps, uneven dates, repeated dates), as findings.

    health_report checks tables and text; a series' time axis is checked here from the
    cached series overview of the Data page.
    """
    from components.series_view import frequency_words, series_overview
    from layerlab.data.health import Finding

    d = spec.data
    targets = list(spec.prepare.series.targets or ([d.target] if d.target else []))
    if not targets:
        return []
    try:
        ov = series_overview(d.source, source_stamp(d.source), d.date, tuple(targets))
    except LayerlabError:  # an unreadable date column: the Series view says why
        return []
    out = []
    if d.date and ov["freq"] is None:
        out.append(Finding("warning", "Uneven dates", f"The dates in `{d.date}` are not evenly spaced, so no "
                           "frequency was found: each row is taken as one time step.",
                           "Check the date column; resample the data to a fixed step (daily, weekly…) if you can."))
    if ov["missing_steps"]:
        out.append(Finding("info", "Missing time steps",
                           f"{ov['missing_steps']:,} {frequency_words(ov['freq'])} steps have no row "
                           f"({len(ov['gaps']):,} gaps).",
                           "They are added and filled before training; choose how on the Prepare page."))
    if ov["duplicates"]:
        out.append(Finding("info", "Repeated dates", f"{ov['duplicates']:,} rows repeat a date that appears "
                           "earlier; the values of each date are averaged.", "Nothing to do, unless that is wrong."))
    return out


def health_view(spec: ProjectSpec) -> list[Any]:
    """Render the findings as error / warning / info boxes with what to do."""
    show_flagged(FLAG)
    items = list(findings(spec.data.source, source_stamp(spec.data.source), roles_json(spec)))
    if spec.data.kind == "series":
        order = {"error": 0, "warning": 1, "info": 2}
        items = sorted(items + series_findings(spec), key=lambda f: order.get(f.level, 3))
    if not items:
        st.success("No problems found: the data looks ready for training.", icon=":material/check_circle:")
    for f in items:
        box, icon = _BOX.get(f.level, _BOX["info"])
        box(f"**{message(f.title)}** — {message(f.detail)}\n\n:material/arrow_forward: {message(f.action)}", icon=icon)
        if "imbalanc" in f.title.lower() and spec.data.task == "classification":
            class_weights_toggle(spec)
    counts = {lvl: sum(f.level == lvl for f in items) for lvl in ("error", "warning", "info")}
    if counts["error"]:
        st.caption(f"{counts['error']} problem(s) must be fixed before training.")
    return items
