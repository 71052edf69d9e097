"""`python -m layerlab …`: the same engine as the app, headless.

User errors print one line `error: …` to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from layerlab.errors import LayerlabError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors: same contract
        command = " ".join(["python -m layerlab", *self.prog.split()[1:], "--help"])  # prog is "layerlab [sub]"
        print(f"error: {message} (see `{command}`)", file=sys.stderr)
        raise SystemExit(2)


def _cmd_samples(args: argparse.Namespace) -> int:
    from layerlab.samples import SAMPLES

    for s in SAMPLES.values():
        print(f"{s.name:<14} {s.kind:<8} {s.title}: {s.description}")
    return 0


def _cmd_templates(args: argparse.Namespace) -> int:
    from layerlab.models.templates import TEMPLATES

    for t in TEMPLATES:
        print(f"{t.name:<22} {t.group:<8} {t.title}: {t.help}")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from layerlab.project import new_project

    spec = new_project(args.data, template=args.template, target=args.target, text=args.text, date=args.date,
                       task=args.task, name=args.name)
    out = Path(args.output)
    spec.save(out)
    print(f"Wrote {out} ({spec.data.kind}, template {spec.model.template}, {len(spec.model.layers)} layers). "
          f"Train it with: python -m layerlab train {out}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from layerlab.spec import load_spec
    from layerlab.runs.store import RunStore
    from layerlab.settings import executor
    from layerlab.train.trainer import run_training

    spec = load_spec(Path(args.project))
    if args.epochs is not None:
        spec = spec.edit(**{"train.epochs": args.epochs})
    store = RunStore(args.runs_dir)
    run = store.create(spec, owner="cli")
    print(f"Run {run.id} in {run.run_dir}", flush=True)
    if executor() == "ray":  # the same setting as the app's: this process drives the run on the cluster
        from layerlab.runs.ray_executor import drive

        run = drive(store, run.id, echo=lambda line: print(line, flush=True))
    else:
        run = run_training(store, run.id, echo=lambda line: print(line, flush=True))
    summary = {"run_id": run.id, "run_dir": run.run_dir, "status": run.status, "task": run.task,
               "metrics": run.test_metrics, "model_path": str(Path(run.run_dir) / "model.keras")}
    print(json.dumps(summary), flush=True)
    if run.status == "failed":
        print(f"error: {run.message}", file=sys.stderr)
        return 1
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from layerlab.inference.predictor import load_predictor

    predictor = load_predictor(args.run_dir)
    failed = 0
    for result in predictor.predict_files(args.files):
        print(json.dumps(result), flush=True)
        failed += "error" in result
    return 2 if failed == len(args.files) else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from layerlab.export import export_run

    print(json.dumps(export_run(args.run_dir, args.format, args.output)), flush=True)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from layerlab.runs.files import RunFiles

    run_dir = Path(args.run_dir)
    files = RunFiles(run_dir)
    if not files.has_evaluation:
        raise LayerlabError(f"{run_dir} holds no evaluation.", "Pick a run that has finished training.")
    ev = files.evaluation()
    keys = ("task", "accuracy", "loss", "baseline_accuracy", "mae", "rmse", "r2", "baseline_mae", "mae_per_step",
            "per_class", "confusion_matrix", "class_names", "n_test")
    print(json.dumps({k: ev[k] for k in keys if k in ev}), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="layerlab", description="Layerlab: build, train and use deep-learning models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("init", help="write a project for some data, with sensible defaults")
    s.add_argument("--data", required=True, help="sample:NAME, or a path to a .zip/folder of images or a table file")
    s.add_argument("--target", help="the column to predict (tables, text, series)")
    s.add_argument("--text", help="the column holding the texts (text classification)")
    s.add_argument("--date", help="the date/time column (time series)")
    s.add_argument("--task", choices=("classification", "regression", "forecasting"), help="override the inferred task")
    s.add_argument("--template", help="model template (see `templates`)")
    s.add_argument("--name", help="project name")
    s.add_argument("-o", "--output", default="project.json")
    s.set_defaults(fn=_cmd_init)

    s = sub.add_parser("samples", help="list the bundled samples")
    s.set_defaults(fn=_cmd_samples)
    s = sub.add_parser("templates", help="list the model templates")
    s.set_defaults(fn=_cmd_templates)

    s = sub.add_parser("train", help="train a project; the last line printed is a JSON summary")
    s.add_argument("project")
    s.add_argument("--epochs", type=int)
    s.add_argument("--runs-dir", help="where runs are kept (default: $LAYERLAB_HOME/runs)")
    s.set_defaults(fn=_cmd_train)

    s = sub.add_parser("predict", help="predict with a trained run; one JSON line per input")
    s.add_argument("run_dir")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=_cmd_predict)
    s = sub.add_parser("evaluate", help="print a run's test metrics as JSON")
    s.add_argument("run_dir")
    s.set_defaults(fn=_cmd_evaluate)

    s = sub.add_parser("export", help="export a run's model: keras, savedmodel (zipped) or tflite")
    s.add_argument("run_dir")
    s.add_argument("--format", choices=("keras", "savedmodel", "tflite"), default="keras")
    s.add_argument("-o", "--output", required=True)
    s.set_defaults(fn=_cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except LayerlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
