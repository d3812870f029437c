"""Evaluation of answer and summary quality: metrics (metrics.py); the runner wires them."""
