"""Reusable UI pieces; each calls into the `layerlab` engine and holds no training logic."""
