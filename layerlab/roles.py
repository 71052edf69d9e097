"""What each column of a table is for, and the project that follows from it: the one place that
turns column roles (guessed, passed on the CLI, or chosen on the Data page) into a kind and a task.

`roles_for_frame` is what `new_project` infers (the CLI's `init` and the Data page alike);
`project_from_roles` re-creates a project from a role per column; `guesses` gives the guess with
its alternatives, so a page can offer each one as a click.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from layerlab.errors import DataError
from layerlab.spec import ProjectSpec

ROLES = ("feature", "target", "text", "date", "ignore")
TASKS = ("classification", "regression", "forecasting")


def _quoted(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def roles_of_columns(spec: ProjectSpec, names: list[str], types: dict[str, str]) -> dict[str, str]:
    """Each column's current role in the project: target, feature, text, date or ignore."""
    d = spec.data
    targets = [d.target] if d.target else []
    if d.kind == "series" and spec.prepare.series.targets:
        targets = list(spec.prepare.series.targets)
    out: dict[str, str] = {}
    for name in names:
        if name in targets:
            out[name] = "target"
        elif d.kind == "text" and name == d.text:
            out[name] = "text"
        elif d.kind == "series" and name == d.date:
            out[name] = "date"
        elif name in d.ignore:
            out[name] = "ignore"
        elif d.features is not None:
            out[name] = "feature" if name in d.features else "ignore"
        elif d.kind == "text":
            out[name] = "ignore"  # a text model reads only the text column
        elif d.kind == "series" and types.get(name) not in ("numeric", "boolean"):
            out[name] = "ignore"  # a series model reads only numeric columns
        else:
            out[name] = "feature"
    return out


def roles_for_frame(df: Any, kind: str | None, target: str | None, text: str | None, date: str | None,
                    task: str | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """Roles inferred from the table, then the sample's defaults, then the user's overrides (CLI flags)."""
    from layerlab.data.profile import infer_roles

    roles = infer_roles(df, kind)
    out = {"kind": roles.kind, "task": roles.task, "target": roles.target, "text": roles.text, "date": roles.date,
           "ignore": list(roles.ignore)}
    out.update({k: v for k, v in defaults.items() if k in out and v is not None})
    for key, value in (("target", target), ("text", text), ("date", date)):
        if value is not None:
            if value not in df.columns:
                raise DataError(f"There is no column `{value}` for --{key}.",
                                f"Columns: {', '.join(map(str, list(df.columns)[:30]))}.")
            out[key] = value
    if text is not None:
        out["kind"] = "text"
    if date is not None and out["kind"] != "text":
        out["kind"] = "series"
    if task is not None:
        out["task"] = task
    elif out["kind"] == "series":
        out["task"] = "forecasting"
    elif out["kind"] == "text":
        out["task"] = "classification"
    if out["kind"] == "series" and out["task"] != "forecasting":
        out["kind"] = "table"
    if out["kind"] == "table" and out["task"] == "forecasting":
        raise DataError("Forecasting needs a date column.", "Pass --date COLUMN (or set the date role).")
    if out["task"] in ("regression", "forecasting") and out["target"] in df.columns:
        column = df[out["target"]]
        if not _is_number(column):
            example = column.dropna().astype(str).head(1).tolist()
            has = f", but it holds {example[0]!r}" if example else ""
            raise DataError(f"{out['task'].capitalize()} predicts a number: the target `{out['target']}` must hold "
                            f"numbers{has}.", "Pick a numeric target (--target COLUMN), or use --task classification.")
    out["ignore"] = [c for c in out["ignore"] if c not in (out["target"], out["text"], out["date"])]
    return out


def move_target(spec: ProjectSpec, roles: dict[str, str], task: str) -> tuple[dict[str, str], str | None]:
    """Marking a new target while the old one is still marked moves the role: the old target becomes
    a feature (an input like any other; the user can ignore it). Forecasting keeps several targets.

    Returns the roles to apply and a sentence saying what moved (None when nothing did).
    """
    targets = [c for c, r in roles.items() if r == "target"]
    if task == "forecasting" or len(targets) < 2:
        return roles, None
    current = roles_of_columns(spec, list(roles), {})
    new = [c for c in targets if current.get(c) != "target"]
    if len(new) != 1:
        return roles, None  # two new targets at once: refused with words by project_from_roles
    moved = [c for c in targets if c not in new]
    roles = {c: ("feature" if c in moved else r) for c, r in roles.items()}
    verb = "is" if len(moved) == 1 else "are"
    return roles, f"`{new[0]}` is the target now; {_quoted(moved)}, the target before, {verb} now a feature."


def project_from_roles(spec: ProjectSpec, df: pd.DataFrame, roles: dict[str, str], task: str) -> ProjectSpec:
    """A new project for `spec`'s source with these column roles and this task.

    Keeps the project's name; when the kind of data stays the same it also keeps the
    preparation settings and the model's layers (the Build page checks they still fit).
    A second target beside the project's target moves the role (see `move_target`).

    Raises:
        DataError: a combination the data kinds cannot use (two targets, text with
            regression, a date without forecasting, no inputs left, …).
    """
    from layerlab.models.templates import default_template
    from layerlab.project import describe_data, new_project, with_template

    if task not in TASKS:
        raise DataError(f"Unknown task `{task}`.", f"Choose one of: {', '.join(TASKS)}.")
    unknown = [c for c, r in roles.items() if r not in ROLES]
    if unknown:
        raise DataError(f"Unknown role for {_quoted(unknown[:3])}.", f"Choose one of: {', '.join(ROLES)}.")
    roles, _ = move_target(spec, roles, task)
    by = {r: [str(c) for c in df.columns if roles.get(str(c), "feature") == r] for r in ROLES}
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
        if task == "regression" and not _is_number(df[targets[0]]):
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


@dataclass(frozen=True)
class Guess:
    """One way to read a table: a kind, a task and the role of each column, in words for a button."""

    kind: str
    task: str
    roles: dict[str, str]
    words: str


def reading(spec: ProjectSpec) -> str:
    """The project's reading of its table in words, as the guesses say theirs."""
    d = spec.data
    return _words(d.kind, d.task, d.target, d.text, d.date)


def _words(kind: str, task: str, target: str | None, text: str | None, date: str | None) -> str:
    if kind == "series":
        return f"Forecast `{target}`" + (f" over `{date}`" if date else " in row order")
    if kind == "text":
        return f"Classify `{text}` by `{target}`"
    return f"{'Classify' if task == 'classification' else 'Predict the number'} `{target}` from the other columns"


def guesses(df: pd.DataFrame, prof: Any = None) -> list[Guess]:
    """The guessed reading of the table first, then each other kind of data it could be read as."""
    from layerlab.data.profile import KINDS, infer_roles, profile

    prof = prof or profile(df)
    first = infer_roles(df, prof=prof)
    out: list[Guess] = []
    for kind in (first.kind, *[k for k in KINDS if k != first.kind]):
        r = first if kind == first.kind else infer_roles(df, kind, prof=prof)
        if r.target is None or (kind == "text" and r.text is None) or (kind == "series" and r.date is None):
            continue
        if kind == "series" and not _is_number(df[r.target]):
            continue
        roles = {str(c): "ignore" for c in df.columns}
        roles.update({c: "feature" for c in r.features})
        roles[r.target] = "target"
        if r.text:
            roles[r.text] = "text"
        if r.date:
            roles[r.date] = "date"
        out.append(Guess(kind, r.task, roles, _words(kind, r.task, r.target, r.text, r.date)))
    return out
