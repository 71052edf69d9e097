"""The standalone training script's fixed parts, as real Python files (see `layerlab.codegen.fill`).

Each module imports above its marker what it needs to lint and import on its own; the
generator keeps only what follows the marker. `generated.py` declares the names the
generator writes from the project itself (the model, the data loader, the augmentation).
"""
