"""Template: the script's imports (every kind; `pandas.py` adds pandas for table-like kinds)."""

# ---- the script starts here ----
from __future__ import annotations

import argparse  # noqa: F401 - used by the parts that follow in the script
import hashlib  # noqa: F401
import math  # noqa: F401
import os
import re  # noqa: F401
import tempfile  # noqa: F401
import warnings  # noqa: F401
from dataclasses import dataclass, field  # noqa: F401
from pathlib import Path  # noqa: F401
from types import SimpleNamespace  # noqa: F401
from typing import Any  # noqa: F401

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: F401
import numpy as np  # noqa: F401
import tensorflow as tf  # noqa: F401
from keras import ops  # noqa: F401
