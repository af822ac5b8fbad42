"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

import gc

from survey_app import create_app

app = create_app()

# What is loaded by now (the app, numpy, pandas, scipy, lifelines, plotly: about 250,000 objects)
# lives as long as the process. Freezing it keeps it out of the garbage collector's full passes,
# which otherwise walk all of it (about 140 ms: a pause that requests on that worker wait out),
# and, with ``gunicorn --preload``, keeps the pages the workers share with the master unwritten.
gc.freeze()
