"""Long computations queued from a page and run outside the web request by ``flask jobs work``."""
