"""Concurrent requests to one model version gathered into one model call.

A model call costs nearly the same for 1 input as for 32, so while the model is busy, requests queue and the
next call takes them all (up to `max_batch` inputs, waiting at most `wait_s` for more after the first).
`model.predict` is not thread-safe (tensorflow#61298): each model copy has its own single inference thread,
and the event loop only awaits, so it keeps answering health checks and other models meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from layerlab.serve.payload import concat

_Item = tuple[Any, int, "asyncio.Future[np.ndarray]"]


class Batcher:
    """One model version's queue and its inference threads (one per loaded copy of the model).

    Args:
        predictors: loaded copies of the same run (`Predictor.outputs` is called on one thread each).
        max_batch: the most inputs in one model call (1: no batching).
        wait_s: how long the first request of a batch waits for others.
        observe: called with each model call's batch size (for `/metrics`).
    """

    def __init__(self, predictors: list[Any], max_batch: int, wait_s: float, observe: Callable[[int], None]) -> None:
        self.predictors = predictors
        self.max_batch = max(1, max_batch)
        self.wait_s = max(0.0, wait_s)
        self.observe = observe
        self._queue: asyncio.Queue[_Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._threads: list[ThreadPoolExecutor] = []

    def start(self) -> None:
        """Start the inference threads and batching loops (inside the running event loop)."""
        self._queue = asyncio.Queue()
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix="layerlab-infer") for _ in self.predictors]
        self._tasks = [asyncio.create_task(self._loop(p, t)) for p, t in zip(self.predictors, self._threads)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for t in self._threads:
            t.shutdown(wait=False, cancel_futures=True)

    async def outputs(self, batch: Any, n: int) -> np.ndarray:
        """The model's raw outputs for one request's parsed batch of `n` inputs."""
        assert self._queue is not None, "Batcher.start() was not called"
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((batch, n, future))
        return await future

    async def _loop(self, predictor: Any, thread: ThreadPoolExecutor) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        carried: _Item | None = None
        while True:
            first = carried or await self._queue.get()
            carried = None
            items, rows = [first], first[1]
            waited = False
            while rows < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    if waited or self.wait_s == 0:
                        break
                    waited = True
                    await asyncio.sleep(self.wait_s)  # no wait_for(get()): it can lose an item on timeout
                    continue
                if rows + item[1] > self.max_batch:
                    carried = item
                    break
                items.append(item)
                rows += item[1]
            items = [i for i in items if not i[2].done()]  # a request that timed out meanwhile
            if not items:
                continue
            try:
                out = await loop.run_in_executor(thread, predictor.outputs, concat([i[0] for i in items]))
            except Exception as exc:  # noqa: BLE001 - handed to each waiting request, which answers it
                for _, _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.observe(sum(i[1] for i in items))
            start = 0
            for _, n, fut in items:
                if not fut.done():
                    fut.set_result(out[start:start + n])
                start += n
