"""The composite satisfaction index: model estimation, stored index values, management report."""
