"""Using a trained model on new inputs: the one place every client (Predict page, CLI, model server) goes.

- `predictor`: a run's end-to-end model loaded through `RunFiles`, and its predictions.
- `inputs`: raw inputs of every kind (image bytes, a drawing, texts, rows by column, a window of
  recent values) parsed and checked into model-ready arrays, or a LayerlabError naming the field.
- `results`: the answers laid out for people (tables of predictions, the forecast's time points).
- `outside`: the safety checks and loading of a `.keras` file made elsewhere.
"""
