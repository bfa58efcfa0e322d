"""/favicon.ico: the site's icon where browsers, feed readers and bookmarks look for it by default.

Pages link the SVG (templates/base.html); this serves the same picture as an .ico (32 and 16 px PNGs),
made from mailer/static/favicon.svg by `.venv/bin/python bin/make-favicon`.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app

bp = Blueprint("site_icon", __name__)

ONE_DAY = 24 * 60 * 60


@cache
def _icon(folder: str) -> bytes:
    # A 1 KB file, read once: no open file handle per request (send_file leaves one to the server to close).
    return (Path(folder) / "favicon.ico").read_bytes()


@bp.get("/favicon.ico")
def favicon():
    response = Response(_icon(current_app.static_folder or "static"), mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    return response
