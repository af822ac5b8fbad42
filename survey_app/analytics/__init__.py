"""Pure numerics: numpy/pandas in, small result dataclasses out.

No Flask, SQLAlchemy, Plotly, I/O or clock here (pass ``as_of``), so every function can be tested,
benchmarked and reused without an app. ``tests/test_analytics_purity.py`` holds the line.
"""
