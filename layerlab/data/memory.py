"""Keep the memory that reading a large table takes from piling up.

pyarrow's default allocator (mimalloc) keeps the memory that a read frees for later reuse,
so a server that read a 135 MB CSV held about 400 MB afterwards, and its peak counted every
buffer the read ever made. jemalloc told to return freed memory at once (decay 0) brings
both close to the size of the frame (measured in bench/README.md, `scale_table`). Changing
the default pool affects only allocations made after it, so arrays already made keep
working.
"""

from __future__ import annotations

_done = False


def lean_arrow_memory() -> None:
    """Make pyarrow's default memory pool give freed memory back to the system at once (once per process).

    Uses jemalloc with a decay time of 0 when this pyarrow build has it; otherwise leaves the
    pool alone. LAYERLAB_ARROW_POOL=default keeps pyarrow's own choice.
    """
    global _done
    if _done:
        return
    _done = True
    import os

    if os.environ.get("LAYERLAB_ARROW_POOL", "").strip().lower() == "default":
        return
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowException, AttributeError):
        return
    pa.set_memory_pool(pool)
