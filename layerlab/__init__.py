"""Layerlab engine: data, preparation, models, training, evaluation, inference, run storage.

Pure logic: never imports streamlit, and imports TensorFlow/Keras only inside the
functions that need them, so a page that only reads data or runs stays fast.
"""

__version__ = "0.1.0"
