"""Prediction: one image's latency and a batch's throughput against plain `model.predict` (`predict`)."""

from __future__ import annotations

import time
from typing import Any

from harness import benchmark, fig, workdir
from harness.measure import alternating, median, percentile, rnd
from harness.projects import sample_spec


@benchmark("predict", "predict", "Prediction: single-image latency and batch throughput vs plain model.predict (digits)")
def predict(quick: bool) -> dict[str, Any]:
    import numpy as np

    from layerlab.inference.predictor import load_predictor
    from layerlab.runs.store import RunStore
    from layerlab.samples import get_sample
    from layerlab.train.trainer import run_training

    store = RunStore(workdir() / "runs")
    run = store.create(sample_spec("sample:digits", epochs=1 if quick else 3))
    final = run_training(store, run.id)
    if final.status != "completed":
        raise RuntimeError(f"training for the prediction benchmark ended {final.status}: {final.message}")
    pred = load_predictor(final.path)
    images = get_sample("digits").load()[0]
    one = images[0]
    n_single, n_batch, reps = (50, 1000, 3) if quick else (200, 1000, 7)
    for i in range(20):
        pred.predict_images([images[i]])
    single = []
    for i in range(n_single):
        t = time.perf_counter()
        pred.predict_images([images[i % len(images)]])
        single.append(time.perf_counter() - t)
    plain_single = []
    arr_one = one[None].astype("float32")
    for _ in range(5):
        pred.model.predict(arr_one, verbose=0)
    for _ in range(max(20, n_single // 4)):
        t = time.perf_counter()
        pred.model.predict(arr_one, verbose=0)
        plain_single.append(time.perf_counter() - t)
    batch = [images[i % len(images)] for i in range(n_batch)]
    arr = np.stack(batch).astype("float32")
    pred.predict_images(batch)
    pred.model.predict(arr, verbose=0)
    ll, pl = [], []
    for rep in range(reps):
        for side in alternating(("ll", "pl"), rep):
            t = time.perf_counter()
            if side == "ll":
                pred.predict_images(batch)
                ll.append(time.perf_counter() - t)
            else:
                pred.model.predict(arr, verbose=0)
                pl.append(time.perf_counter() - t)
    ratios = [p / q for p, q in zip(pl, ll)]
    return {"figures": [
        fig("predict.single_latency_ms", median(single) * 1000, "ms", "< 50",
            f"Predictor.predict_images on one image, median of {n_single} after warm-up"),
        fig("predict.single_latency_p95_ms", percentile(single, 95) * 1000, "ms"),
        fig("predict.plain_predict_single_ms", median(plain_single) * 1000, "ms", None,
            "for comparison: plain model.predict on one image"),
        fig("predict.batch_images_per_s", n_batch / median(ll), "images/s", None,
            f"Predictor.predict_images on {n_batch} images (results as dicts included)"),
        fig("predict.plain_batch_images_per_s", n_batch / median(pl), "images/s", None,
            f"plain model.predict on the same loaded model, {n_batch} images as one float32 array"),
        fig("predict.batch_throughput_ratio", median(ratios), "×", "≥ 0.9", "Layerlab ÷ plain model.predict"),
    ], "details": {"reps": reps, "layerlab_s": [rnd(x) for x in ll], "plain_s": [rnd(x) for x in pl]}}
