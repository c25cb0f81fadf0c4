"""Explanations of XMC predictions: LIME (text and dense), label-wise attention x gradient,
BertViz views served offline, and faithfulness scores (deletion curve, ERASER AOPC).

The public entry points are in :mod:`engine.explain.api` (forwarded by engine.pipeline).
"""
