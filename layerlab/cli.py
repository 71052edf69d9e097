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
    train = f"python -m layerlab train {args.output}"
    if args.start_from:
        spec, train = _start_from(spec, args, train)
    elif args.freeze or args.cut:
        raise LayerlabError("--freeze and --cut go with --start-from.", "Add --start-from RUN_OR_KERAS_FILE, or leave them out.")
    out = Path(args.output)
    spec.save(out)
    print(f"Wrote {out} ({spec.data.kind}, template {spec.model.template}, {len(spec.model.layers)} layers). "
          f"Train it with: {train}")
    return 0


def _start_from(spec, args: argparse.Namespace, train: str):
    """init --start-from: the earlier run's or the file's layers with a new head; training must find that run."""
    from layerlab.models.start_from import start_from
    from layerlab.settings import runs_dir

    spec = start_from(spec, args.start_from, args.freeze or "all", args.cut, args.runs_dir)
    frozen = sum(not layer.trainable for layer in spec.model.layers)
    print(f"Starting from {args.start_from}: {len(spec.model.layers)} layers ({frozen} frozen) and a new head.")
    if spec.model.start_from_run:
        from layerlab.models.start_from import find_run

        root = find_run(args.start_from, args.runs_dir).path.parent
        if root.resolve() != Path(runs_dir()).resolve():
            train += f" --runs-dir {root}"
    return spec, train


def _project(path: str):
    """The project file at `path`; its refusal names the file as the user wrote it."""
    from layerlab.spec import load_spec

    try:
        return load_spec(Path(path))
    except LayerlabError as exc:
        if path in exc.message:
            raise
        raise LayerlabError(f"{path}: {exc.message}", exc.hint) from None


def _cmd_train(args: argparse.Namespace) -> int:
    from layerlab.project import describe_data
    from layerlab.runs.store import RunStore
    from layerlab.settings import executor
    from layerlab.train.trainer import run_training

    spec = _project(args.project)
    if args.epochs is not None:
        spec = spec.edit(**{"train.epochs": args.epochs})
    # Data that cannot be read is the user's to fix (exit 2), found before a run (and TensorFlow) starts.
    describe_data(spec)
    from layerlab.models.backbones import require_weights

    require_weights(spec)  # pretrained weights missing offline: exit 2 before a run starts
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
    from layerlab.serve.catalog import find_run

    run_dir = find_run(args.run_dir, args.runs_dir).run_dir
    print(json.dumps(export_run(run_dir, args.format, args.output, name=args.name)), flush=True)
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


def _cmd_serve(args: argparse.Namespace) -> int:
    from layerlab.serve.server import ServeOptions, api_key, serve

    if args.workers < 1 or (args.max_batch is not None and args.max_batch < 1) or (
            args.batch_timeout_ms is not None and args.batch_timeout_ms < 0):
        raise LayerlabError("--workers and --max-batch must be at least 1, --batch-timeout-ms at least 0.")
    return serve(args.runs, ServeOptions(host=args.host, port=args.port, workers=args.workers,
                                         api_key=api_key(args.api_key_file), max_batch=args.max_batch,
                                         batch_timeout_ms=args.batch_timeout_ms, runs_dir=args.runs_dir))


def _cmd_tune(args: argparse.Namespace) -> int:
    from layerlab.runs.store import RunStore
    from layerlab.spec import load_spec
    from layerlab.tune import driver, space, study

    spec = load_spec(Path(args.project))
    if args.search is None:  # the default: those of lr, batch_size, units and dropout the project has
        names = [n for n in ("lr", "batch_size", "units", "dropout") if any(d.group == n for d in space.available(spec))]
    else:
        names = [n.strip() for n in args.search.split(",") if n.strip()]
    name = study.create(spec, space.expand(spec, names), trials=args.trials, timeout_s=args.timeout,
                        epochs=args.epochs, owner="cli")
    print(f"Study {name}: {args.trials} trial(s) searching {', '.join(names)}", flush=True)
    summary = driver.drive(name, RunStore(args.runs_dir), echo=lambda line: print(line, flush=True))
    print(json.dumps(summary), flush=True)
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
    s.add_argument("--start-from", metavar="RUN_OR_KERAS_FILE", help="start from an earlier run (its id or folder) "
                   "or a .keras file, with a new head for this data")
    s.add_argument("--freeze", metavar="all|none|all-but-K", help="with --start-from: which of its layers stay as they "
                   "are while training (default all; all-but-K lets the last K learn)")
    s.add_argument("--cut", metavar="LAYER", help="with a .keras file: the layer to cut it at (default: the one "
                   "before its output layer)")
    s.add_argument("--runs-dir", help="with --start-from RUN_ID: where runs are kept (default: $LAYERLAB_HOME/runs)")
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

    s = sub.add_parser("tune", help="search settings with Optuna, each trial a run; the last line is a JSON summary")
    s.add_argument("project")
    s.add_argument("--trials", type=int, required=True, help="trials in all")
    s.add_argument("--timeout", type=float, help="the study's time limit in seconds: then no trial starts and the running ones stop, "
                   "keeping their best epoch")
    s.add_argument("--epochs", type=int, help="epochs per trial (default: the project's)")
    s.add_argument("--search", help="what to search, comma-separated: lr, batch_size, optimizer, units, dropout, weight_decay, "
                        "image_size, sequence_length, window (default: lr,batch_size,units,dropout)")
    s.add_argument("--runs-dir", help="where runs are kept (default: $LAYERLAB_HOME/runs)")
    s.set_defaults(fn=_cmd_tune)

    s = sub.add_parser("predict", help="predict with a trained run; one JSON line per input")
    s.add_argument("run_dir")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=_cmd_predict)
    s = sub.add_parser("evaluate", help="print a run's test metrics as JSON")
    s.add_argument("run_dir")
    s.set_defaults(fn=_cmd_evaluate)

    s = sub.add_parser("export", help="export a run's model: keras, savedmodel (zipped), tflite, or tfserving "
                                      "(the DIR/NAME/<version>/ folders TensorFlow Serving loads)")
    s.add_argument("run_dir", metavar="RUN", help="a run folder or a run id")
    s.add_argument("--format", choices=("keras", "savedmodel", "tflite", "tfserving"), default="keras")
    s.add_argument("-o", "--output", required=True, help="the file to write (tfserving: the model base folder)")
    s.add_argument("--name", help="tfserving: the model's name (default: the project's name)")
    s.add_argument("--runs-dir", help="where run ids are looked up (default: $LAYERLAB_HOME/runs)")
    s.set_defaults(fn=_cmd_export)

    s = sub.add_parser("serve", help="serve runs over HTTP (TensorFlow Serving's REST API); prints `ready URL`")
    s.add_argument("runs", nargs="+", metavar="RUN", help="a run id or a run folder; a project's runs are versions")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    s.add_argument("--port", type=int, default=8500, help="port (0: any free port; the ready line shows it)")
    s.add_argument("--workers", type=int, default=1, help="copies of each model answering at once (default 1)")
    s.add_argument("--api-key-file", help="require `Authorization: Bearer KEY` (else LAYERLAB_API_KEY, if set)")
    s.add_argument("--max-batch", type=int, help="most inputs per model call (1: no batching; "
                                                 "default LAYERLAB_SERVE_MAX_BATCH or 32)")
    s.add_argument("--batch-timeout-ms", type=int, help="how long a request waits for others to batch with "
                                                        "(default LAYERLAB_SERVE_BATCH_TIMEOUT_MS or 2)")
    s.add_argument("--runs-dir", help="where run ids are looked up (default: $LAYERLAB_HOME/runs)")
    s.set_defaults(fn=_cmd_serve)
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
