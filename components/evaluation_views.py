"""Moved to components/evaluate/ (one module per purpose). Only what components/predict_views.py still
imports from here is re-exported, until it imports `components.evaluate.explanations` itself."""

from components.evaluate.explanations import row_explanation, text_explanation

__all__ = ["row_explanation", "text_explanation"]
