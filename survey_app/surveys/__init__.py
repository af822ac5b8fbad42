"""Satisfaction questionnaires: design, distribution, answering and results."""
