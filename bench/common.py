"""Helpers for bench/run.py: the machine, statistics, sample projects, and the child scripts.

Child scripts run in fresh processes (`python bench/common.py COMMAND ...`) so that every
timed training starts from the same state a Layerlab worker starts from:

* `plain-fit SPEC.json --out OUT.json` — the baseline for the training-speed ratio: the
  same model (engine build_model + prepared.train_model + compile_model), the same data
  and tf.data pipeline (tf_pipeline.make_dataset), trained with a plain `model.fit` and one
  callback that only records epoch times.
* `variants SPEC.json --out OUT.json` — the same fit in one process with the worker's
  pieces added one at a time (StoreCallback at two flush rates, ModelCheckpoint, both),
  interleaved, to find where a gap between Layerlab and plain Keras comes from.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---- environment and machine ------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment a Layerlab worker gets (runner.dispatch), for every benchmark child."""
    env = dict(os.environ)
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _gpu_names() -> list[str]:
    """GPU names from nvidia-smi (no TensorFlow import); [] when there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    gpus = _gpu_names()
    tf_dist = next((d for d in ("tensorflow", "tensorflow-cpu", "tf-nightly") if _version(d)), "tensorflow")
    return {
        "cpu": cpu,
        "cores": cores,
        "ram_gb": ram_gb,
        "gpu": ", ".join(gpus) if gpus else "none",
        "tensorflow": _version(tf_dist),
        "keras": _version("keras"),
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "streamlit": _version("streamlit"),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ---- statistics -------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(vals) if vals else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    vals = sorted(v for v in values if v is not None and math.isfinite(v))
    if not vals:
        return None
    k = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def rnd(x: Any, digits: int = 4) -> Any:
    return round(x, digits) if isinstance(x, float) and math.isfinite(x) else x


# ---- projects ---------------------------------------------------------------------------------


def sample_spec(source: str, *, epochs: int | None = None, **edits: Any) -> Any:
    """The project the app would create for `source` (defaults inferred), with dotted-path edits."""
    from layerlab.project import new_project

    spec = new_project(source)
    changes = dict(edits)
    if epochs is not None:
        changes["train.epochs"] = epochs
    return spec.edit(**changes) if changes else spec


def wine_csv(dest: Path) -> str:
    """sklearn's wine data written as a CSV (the table fallback when no table sample is bundled)."""
    import pandas as pd
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].map(lambda i: f"class_{i}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(dest, index=False)
    return str(dest)


def available_samples() -> dict[str, str]:
    """{name: kind} of the bundled samples, read without importing TensorFlow."""
    from layerlab.samples import SAMPLES

    return {name: s.kind for name, s in SAMPLES.items()}


def python_child(args: list[str], *, timeout: float, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), cwd=str(cwd or ROOT))


def tail(text: str, lines: int = 15) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


# ---- child: plain model.fit -------------------------------------------------------------------


def _epoch_timer(keras: Any) -> Any:
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


def _fit_setup(spec_path: str) -> dict[str, Any]:
    """Everything a worker does before fit(), the same way: seed, prepare, build, compile, datasets."""
    import keras

    from layerlab.prep import tf_pipeline
    from layerlab.prep.prepare import prepare
    from layerlab.device import NO_GPU, describe_training_device
    from layerlab.models.build import build_model, compile_model
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
        "spec": spec, "keras": keras, "new_model": new_model, "n_train": int(len(y_tr)),
        "train_ds": tf_pipeline.make_dataset(info, x_tr, y_tr, spec, training=True),
        "val_ds": tf_pipeline.make_dataset(info, x_va, y_va, spec, training=False),
        "steps": math.ceil(len(y_tr) / spec.train.batch_size),
    }


def plain_fit(spec_path: str, out: str, launched: float) -> None:
    s = _fit_setup(spec_path)
    keras, spec = s["keras"], s["spec"]
    model = s["new_model"]()
    timer = _epoch_timer(keras)
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
    """Fits with the worker's pieces added one at a time, interleaved, in this one process."""
    import tempfile

    from layerlab.runs.store import RunStore

    s = _fit_setup(spec_path)
    keras, spec = s["keras"], s["spec"]
    tmp = Path(tempfile.mkdtemp(prefix="layerlab-bench-variants-"))
    store = RunStore(tmp / "runs")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for rep in range(reps):
        order = variants if rep % 2 == 0 else list(reversed(variants))
        for variant in order:
            model = s["new_model"]()
            timer = _epoch_timer(keras)
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
    from layerlab.train.callbacks import StoreCallback
    from layerlab.runs.store import RunStore

    s = _fit_setup(spec_path)
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


def steady_epoch_seconds(begin: list[float], end: list[float]) -> float | None:
    """Median epoch duration (begin → end, validation included), first epoch (tracing) left out."""
    return median([e - b for b, e in list(zip(begin, end))[1:]])


def steady_cpu_seconds(cpu_end: list[float]) -> float | None:
    """CPU seconds per epoch from the end of epoch 2 to the end of the last (same window as the wall cycle)."""
    if len(cpu_end) < 3:
        return None
    return (cpu_end[-1] - cpu_end[1]) / (len(cpu_end) - 2)


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interpolate(samples: list[tuple[float, float]], t: float) -> float | None:
    """Linear interpolation of (time, value) samples sorted by time."""
    import bisect

    if not samples or t < samples[0][0] or t > samples[-1][0]:
        return None
    i = bisect.bisect_left([x for x, _ in samples], t)
    if samples[i][0] == t or i == 0:
        return samples[i][1]
    (t0, v0), (t1, v1) = samples[i - 1], samples[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def steady_cycle_seconds(end: list[float]) -> float | None:
    """Median time between consecutive epoch ends from the 3rd on: includes end-of-epoch work
    (checkpoint saving, store writes) that epoch_seconds does not see."""
    return median([b - a for a, b in zip(end[1:], end[2:])])


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="bench/common.py")
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
