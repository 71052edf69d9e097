"""Training children for the training benchmarks: each fit runs in a fresh process
(`python bench/fits.py COMMAND ...`) so it starts from the same state a Layerlab worker starts from.

* `plain-fit SPEC.json --out OUT.json` — the baseline for the training-speed ratio: the
  same model (engine build_model + prepared.train_model + compile_model), the same data
  and tf.data pipeline (tf_pipeline.make_dataset), trained with a plain `model.fit` and one
  callback that only records epoch times.
* `variants SPEC.json --out OUT.json` — the same fit in one process with the worker's
  pieces added one at a time (StoreCallback at two flush rates, ModelCheckpoint, both),
  interleaved, to find where a gap between Layerlab and plain Keras comes from.
* `live-fit SPEC.json --runs-dir DIR --run-id ID` — train like the worker with a chosen
  StoreCallback flush interval (the latency benchmark's proposed settings).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from harness.machine import BENCH_DIR
from harness.measure import alternating

SCRIPT = BENCH_DIR / "fits.py"


def epoch_timer(keras: Any) -> Any:
    class EpochTimer(keras.callbacks.Callback):
        """Records epoch begin/end wall times; overrides no batch hook (keeps Keras' async path)."""

        def __init__(self) -> None:
            super().__init__()
            self.begin: list[float] = []
            self.end: list[float] = []
            self.cpu_end: list[float] = []  # process CPU seconds (all threads) at each epoch end
            self.train_begin: float | None = None

        def on_train_begin(self, logs: Any = None) -> None:
            self.train_begin = time.time()

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.begin.append(time.time())

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.end.append(time.time())
            self.cpu_end.append(time.process_time())

    return EpochTimer()


def fit_setup(spec_path: str) -> dict[str, Any]:
    """Everything a worker does before fit(), the same way: seed, prepare, build, compile, datasets."""
    import keras

    from layerlab.device import NO_GPU, describe_training_device
    from layerlab.models.build import build_model, compile_model
    from layerlab.prep import tf_pipeline
    from layerlab.prep.prepare import prepare
    from layerlab.spec import load_spec

    spec = load_spec(spec_path)
    keras.utils.set_random_seed(spec.train.seed)
    prepared = prepare(spec)
    info = prepared.info
    x_tr, y_tr = prepared.part("train")
    x_va, y_va = prepared.part("validation")
    gpu = describe_training_device() != NO_GPU

    def new_model() -> Any:
        core = build_model(spec, info)
        model = prepared.train_model(core)
        compile_model(model, spec.train, info)
        if gpu:
            model.jit_compile = spec.train.xla
        return model

    return {
        "spec": spec, "keras": keras, "new_model": new_model, "n_train": len(y_tr),
        "train_ds": tf_pipeline.make_dataset(info, x_tr, y_tr, spec, training=True),
        "val_ds": tf_pipeline.make_dataset(info, x_va, y_va, spec, training=False),
        "steps": math.ceil(len(y_tr) / spec.train.batch_size),
    }


def plain_fit(spec_path: str, out: str, launched: float) -> None:
    s = fit_setup(spec_path)
    keras, spec = s["keras"], s["spec"]
    model = s["new_model"]()
    timer = epoch_timer(keras)
    model.fit(s["train_ds"], validation_data=s["val_ds"], epochs=spec.train.epochs, callbacks=[timer],
              verbose=0, shuffle=False)
    Path(out).write_text(json.dumps({
        "n_train": s["n_train"], "steps": s["steps"], "batch_size": spec.train.batch_size,
        "epoch_begin": timer.begin, "epoch_end": timer.end, "cpu_end": timer.cpu_end, "train_begin": timer.train_begin,
        "launched": launched,
    }), encoding="utf-8")


VARIANTS = ("plain", "store", "store_keepalive", "checkpoint", "checkpoint_memory", "store+checkpoint",
            "store_keepalive_0.1+checkpoint_memory")
VARIANT_PARTS = {
    "plain": "model.fit with only an epoch timer",
    "sync": "+ a callback with an empty on_train_batch_end: turns off Keras' asynchronous batch-callback "
            "dispatch (a thread pool), as any batch-level callback (StoreCallback, ModelCheckpoint) does",
    "store": "+ Layerlab's StoreCallback as the worker uses it (flush every 0.25 s, a new SQLite connection per write)",
    "store_0.1": "+ StoreCallback flushing every 0.1 s",
    "store_keepalive_0.1": "+ the proposed StoreCallback (see store_keepalive) flushing every 0.1 s",
    "store_keepalive": "+ StoreCallback while one SQLite connection stays open for the whole fit "
                       "(so closing each write's connection no longer checkpoints the WAL with fsyncs), "
                       "and flushing before validation as well",
    "checkpoint": "+ ModelCheckpoint(best.keras, save_best_only) as the worker uses it",
    "checkpoint_weights": "+ ModelCheckpoint(best.weights.h5, save_best_only, save_weights_only)",
    "checkpoint_memory": "+ a best-weights snapshot kept in memory on each improvement (get_weights), written to "
                         "best.keras at most every 10 s and at the end of training",
}


_HOOKS = ("on_train_batch_end", "on_epoch_end", "on_test_batch_end", "on_epoch_begin", "flush")


def _time_callbacks(callbacks: list[Any]) -> dict[str, float]:
    """Wrap each callback's own hooks to add up the seconds spent inside them, per `Class.hook`."""
    acc: dict[str, float] = {}
    for cb in callbacks:
        for hook in _HOOKS:
            fn = getattr(cb, hook, None)
            if fn is None or getattr(fn, "_is_default", False):
                continue  # wrapping a default hook would change how Keras dispatches it
            key = f"{type(cb).__name__}.{hook}"
            acc.setdefault(key, 0.0)

            def wrapped(*a: Any, _fn: Any = fn, _key: str = key, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return _fn(*a, **k)
                finally:
                    acc[_key] += time.perf_counter() - t

            setattr(cb, hook, wrapped)
    return acc


def _store_options(part: str) -> tuple[bool, float]:
    """`store`, `store_0.1`, `store_keepalive`, `store_keepalive_0.1` → (keepalive, flush seconds)."""
    keepalive, flush = False, 0.25
    for token in part.split("_")[1:]:
        if token == "keepalive":
            keepalive = True
        else:
            flush = float(token)
    return keepalive, flush


def _keepalive_callback_class() -> Any:
    import sqlite3

    from layerlab.train.callbacks import StoreCallback

    class KeepAliveStoreCallback(StoreCallback):
        """The proposed StoreCallback: the process keeps one SQLite connection open for the whole fit
        (so closing each write's connection no longer checkpoints the WAL with fsyncs), and the
        buffered batch rows are flushed before validation starts instead of after it."""

        def on_test_begin(self, logs: Any = None) -> None:
            self.flush(force=True)

        def on_train_begin(self, logs: Any = None) -> None:
            self._hold = sqlite3.connect(self.store.db_path)
            self._hold.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
            super().on_train_begin(logs)

        def on_train_end(self, logs: Any = None) -> None:
            super().on_train_end(logs)
            self._hold.close()

    return KeepAliveStoreCallback


def _variant_callbacks(variant: str, store: Any, spec: Any, steps: int, folder: Path, keras: Any) -> list[Any]:
    from layerlab.train.callbacks import StoreCallback

    KeepAliveStoreCallback = _keepalive_callback_class()

    class MemoryCheckpoint(keras.callbacks.Callback):
        """The proposed replacement: snapshot the best weights in RAM, write the file rarely."""

        def __init__(self, path: Path, every_s: float = 10.0) -> None:
            super().__init__()
            self.path, self.every_s = path, every_s
            self.best: float | None = None
            self.weights: list[Any] | None = None
            self.dirty, self.last_write = False, time.time()

        def _write(self) -> None:
            current = self.model.get_weights()
            self.model.set_weights(self.weights)
            self.model.save(self.path)
            self.model.set_weights(current)
            self.dirty, self.last_write = False, time.time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            val = (logs or {}).get("val_loss")
            if val is not None and (self.best is None or val < self.best):
                self.best, self.weights, self.dirty = val, self.model.get_weights(), True
            if self.dirty and time.time() - self.last_write >= self.every_s:
                self._write()

        def on_train_end(self, logs: Any = None) -> None:
            if self.dirty:
                self._write()

    class SyncOnly(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            pass

    out: list[Any] = []
    for part in variant.split("+"):
        if part == "plain":
            continue
        if part == "sync":
            out.append(SyncOnly())
            continue
        if part.startswith("store"):
            run = store.create(spec)
            keepalive, flush = _store_options(part)
            cls = KeepAliveStoreCallback if keepalive else StoreCallback
            out.append(cls(store, run.id, steps, spec.train.batch_size, flush_s=flush))
        elif part == "checkpoint":
            out.append(keras.callbacks.ModelCheckpoint(str(folder / "best.keras"), monitor="val_loss",
                                                       save_best_only=True))
        elif part == "checkpoint_weights":
            out.append(keras.callbacks.ModelCheckpoint(str(folder / "best.weights.h5"), monitor="val_loss",
                                                       save_best_only=True, save_weights_only=True))
        elif part == "checkpoint_memory":
            out.append(MemoryCheckpoint(folder / "best-memory.keras"))
        else:
            raise ValueError(f"unknown variant part {part!r}; known: {', '.join(VARIANT_PARTS)}")
    return out


def fit_variants(spec_path: str, out: str, reps: int, variants: list[str]) -> None:
    """Fits with the worker's pieces added one at a time, interleaved, in this one process.

    Their run store and checkpoints go beside `out` (in the benchmark's scratch folder, removed after it)."""
    from layerlab.runs.store import RunStore

    s = fit_setup(spec_path)
    keras, spec = s["keras"], s["spec"]
    tmp = Path(out).parent / "variants"
    store = RunStore(tmp / "runs")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for rep in range(reps):
        order = alternating(variants, rep)
        for variant in order:
            model = s["new_model"]()
            timer = epoch_timer(keras)
            extra = _variant_callbacks(variant, store, spec, s["steps"], tmp, keras)
            inside = _time_callbacks(extra)
            model.fit(s["train_ds"], validation_data=s["val_ds"], epochs=spec.train.epochs, callbacks=[timer, *extra],
                      verbose=0, shuffle=False)
            results[variant].append({"epoch_begin": timer.begin, "epoch_end": timer.end, "cpu_end": timer.cpu_end,
                                     "inside": inside})
    Path(out).write_text(json.dumps({"n_train": s["n_train"], "steps": s["steps"], "results": results}),
                         encoding="utf-8")


def live_fit(spec_path: str, runs_dir: str, run_id: str, flush: float, keepalive: bool) -> None:
    """Train like the worker but with a chosen StoreCallback flush interval (for the latency benchmark)."""
    from layerlab.runs.store import RunStore
    from layerlab.train.callbacks import StoreCallback

    s = fit_setup(spec_path)
    keras, spec = s["keras"], s["spec"]
    store = RunStore(runs_dir)
    store.update(run_id, status="running", started=time.time())
    cls = _keepalive_callback_class() if keepalive else StoreCallback
    cb = cls(store, run_id, s["steps"], spec.train.batch_size, flush_s=flush)
    ckpt = keras.callbacks.ModelCheckpoint(str(Path(runs_dir) / f"{run_id}.keras"), monitor="val_loss",
                                           save_best_only=True)
    s["new_model"]().fit(s["train_ds"], validation_data=s["val_ds"], epochs=spec.train.epochs, callbacks=[cb, ckpt],
                         verbose=0, shuffle=False)
    store.set_status(run_id, "completed", "bench live-fit done")












def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="bench/fits.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("plain-fit")
    a.add_argument("spec")
    a.add_argument("--out", required=True)
    a.add_argument("--launched", type=float, default=None)
    b = sub.add_parser("variants")
    b.add_argument("spec")
    b.add_argument("--out", required=True)
    b.add_argument("--reps", type=int, default=2)
    b.add_argument("--variants", default=",".join(VARIANTS))
    c = sub.add_parser("live-fit")
    c.add_argument("spec")
    c.add_argument("--runs-dir", required=True)
    c.add_argument("--run-id", required=True)
    c.add_argument("--flush", type=float, default=0.25)
    c.add_argument("--keepalive", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "plain-fit":
        plain_fit(args.spec, args.out, args.launched or time.time())
    elif args.cmd == "live-fit":
        live_fit(args.spec, args.runs_dir, args.run_id, args.flush, args.keepalive)
    else:
        fit_variants(args.spec, args.out, args.reps, [v for v in args.variants.split(",") if v])
    return 0


if __name__ == "__main__":
    sys.exit(main())
