"""The server's warm-up imports the data libraries in the background, once, and never TensorFlow."""

from __future__ import annotations

import subprocess
import sys


def test_warmup_imports_the_data_libraries_once_and_not_tensorflow():
    code = (
        "import sys\n"
        "from layerlab import warmup\n"
        "assert warmup.start(delay_s=0) is True\n"
        "assert warmup.start(delay_s=0) is False\n"
        "assert not warmup.done() or 'pandas' in sys.modules\n"
        "warmup.join(120)\n"
        "assert warmup.done()\n"
        "assert 'pandas' in sys.modules and 'pyarrow' in sys.modules and 'plotly.graph_objects' in sys.modules\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
