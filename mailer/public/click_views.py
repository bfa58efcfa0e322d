"""HTTP: a counted link in a mailing, /l/<token>: count the click, then redirect to the stored URL.

A token we did not sign, or one that names no stored link, gets 404: never a redirect.
"""
from __future__ import annotations

from flask import abort, redirect

from mailer.extensions import csrf
from mailer.mailings.clicks import follow
from mailer.public.views import bp


@bp.route("/l/<token>")
@csrf.exempt
def click(token: str):
    url = follow(token[:500])
    if url is None:
        abort(404)
    return redirect(url, code=302)
