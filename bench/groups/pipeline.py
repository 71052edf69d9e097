"""Input pipeline: iterating Layerlab's augmented training dataset alone against training on it (`pipeline`)."""

from __future__ import annotations

import time
from typing import Any

import fits
from harness import benchmark, fig, workdir
from harness.measure import alternating, median, ratio, rnd
from harness.projects import sample_spec


@benchmark("pipeline", "pipeline", "Input pipeline: tf.data steps/s alone vs training steps/s (digits, rotation+zoom)")
def pipeline(quick: bool) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from layerlab.prep import tf_pipeline
    from layerlab.prep.prepare import prepare

    aug = [{"type": "rotation", "params": {}}, {"type": "zoom", "params": {}}]
    epochs, reps = (3, 1) if quick else (6, 3)
    spec_aug = sample_spec("sample:digits", **{"prepare.augment": aug, "train.epochs": epochs})
    spec_plain = spec_aug.edit(**{"prepare.augment": []})
    s = fits.fit_setup(str(spec_aug.save(workdir() / "aug.json")))
    steps = s["steps"]
    prepared = prepare(spec_plain)
    x_tr, y_tr = prepared.part("train")
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    ds = {"aug": s["train_ds"], "noaug": tf_pipeline.make_dataset(prepared.info, x_tr, y_tr, spec_plain, training=True),
          "pool1": s["train_ds"].with_options(options)}
    models = {"aug": s["new_model"](), "noaug": s["new_model"](), "pool1": s["new_model"]()}
    times: dict[str, list[float]] = {k: [] for k in ("pipe_aug", "pipe_noaug", "train_aug", "train_noaug", "train_pool1")}
    for rep in range(reps):
        for job in alternating(list(times), rep):
            what, which = job.split("_")
            if what == "pipe":
                per = []
                for _ in range(epochs):
                    t = time.perf_counter()
                    for _batch in ds[which]:
                        pass
                    per.append(time.perf_counter() - t)
            else:
                timer = fits.epoch_timer(keras)
                models[which].fit(ds[which], epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
                per = [e - b for b, e in zip(timer.begin, timer.end)]
            times[job].extend(per[1:])
    sps = {k: ratio(steps, median(v)) for k, v in times.items()}
    figures = [
        fig("pipeline.augmented_steps_per_s", sps["pipe_aug"], "steps/s", None,
            f"iterating the training dataset alone (batch {spec_aug.train.batch_size}, rotation+zoom on)"),
        fig("pipeline.training_steps_per_s", sps["train_aug"], "steps/s", None, "model.fit on that dataset"),
        fig("pipeline.headroom", ratio(sps["pipe_aug"], sps["train_aug"]), "×", "≥ 1",
            "pipeline steps/s ÷ training steps/s: above 1 the pipeline is not what limits training"),
        fig("pipeline.plain_steps_per_s", sps["pipe_noaug"], "steps/s", None, "the same pipeline without augmentation"),
        fig("pipeline.augmentation_training_cost", ratio(sps["train_noaug"], sps["train_aug"]), "×", None,
            "training steps/s without augmentation ÷ with it (1.0 = augmentation is free)"),
        fig("pipeline.private_threadpool_1_speedup", ratio(sps["train_pool1"], sps["train_aug"]), "×", None,
            "training steps/s with the augmented pipeline on a private 1-thread pool ÷ as Layerlab builds it"),
    ]
    return {"figures": figures, "details": {"steps_per_epoch": steps, "epochs": epochs, "reps": reps,
                                            "median_epoch_s": {k: rnd(median(v)) for k, v in times.items()}}}
