"""/favicon.ico: the site's icon where browsers, feed readers and bookmarks look for it by default.

Pages link the SVG (templates/base.html); this serves the same picture as an .ico (32 and 16 px PNGs),
made from mailer/static/favicon.svg by `.venv/bin/python bin/make-favicon`.
"""
from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("site_icon", __name__)

ONE_DAY = 24 * 60 * 60


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=ONE_DAY)
