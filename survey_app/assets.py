"""Static files under URLs that carry a version of their content (``?v=``), so a browser keeps
them for a year and asks again only when they change: without it every page revalidated each
script and style sheet, Plotly's 3.5 MB included (a round trip each, on a phone)."""

from __future__ import annotations

import hashlib

from flask import Flask, request
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600


class VersionedStaticFlask(Flask):
    """Flask, serving a static file asked for with a version for a year (the URL changes with
    the content); without one, as Flask does (revalidate every time)."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if request.args.get("v"):
            return ONE_YEAR
        return super().get_send_file_max_age(filename)


def init_app(app: Flask) -> None:
    """Give every ``url_for("static", filename=...)`` the file's version: the start of the
    SHA-256 of its content, read once per process (a deploy restarts the workers)."""
    versions: dict[str, str | None] = {}

    def version_of(filename: str) -> str | None:
        if filename not in versions:
            path = safe_join(app.static_folder, filename)
            try:
                with open(path, "rb") as handle:  # type: ignore[arg-type]
                    versions[filename] = hashlib.sha256(handle.read()).hexdigest()[:12]
            except (OSError, TypeError):  # missing, or outside the folder (path is None)
                versions[filename] = None
        return versions[filename]

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            version = version_of(values.get("filename", ""))
            if version:
                values["v"] = version
