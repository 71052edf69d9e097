"""Preparation saved inside the model: fitted on the training split, then wrapped around
the trained network so the saved model takes raw rows, strings and windows."""
