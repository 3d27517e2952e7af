"""Recommendations benchmark on MovieLens-100k: offline quality of every recipe (strong
generalisation and Personalize's metrics, each vs Popularity-Count), training time vs implicit's
ALS, and ``oaklake serve`` under a constant request rate from a real load generator.

Run ``make bench-rec`` (``ARGS="--duration 10 --skip-quality"`` for a smoke run); the JSON result
goes to ``bench/results/rec.json``.
"""
