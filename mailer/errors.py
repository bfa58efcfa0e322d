"""Friendly, translated error pages: bad input gets a 4xx, never a raw 500."""
from __future__ import annotations

import logging

from flask import Flask, abort, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from mailer.api.problems import API_PREFIX, from_http_exception, problem

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (gettext("Something in the request was wrong"), gettext("Please go back, check what you entered and try again.")),
        403: (gettext("Not allowed"), gettext("You do not have permission to do this.")),
        404: (gettext("Page not found"), gettext("The page you asked for does not exist.")),
        405: (gettext("Not allowed"), gettext("This page cannot be used that way.")),
        413: (gettext("Too much data"), gettext("What you sent is larger than we accept. Please shorten it and try again.")),
        429: (gettext("Too many attempts"), gettext("You have tried too many times. Please wait a while and try again.")),
        500: (gettext("Something went wrong on our side"), gettext("Nothing you entered is lost. Please try again in a moment.")),
    }


# Ids are INTEGER columns (32 bits on PostgreSQL): a larger number in a URL is no row, not a database error.
LARGEST_ID = 2**31 - 1
# Query parameters that hold free text, where a long run of digits is a search, not an id.
TEXT_PARAMETERS = frozenset({"q"})


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a whole number that fits an id column, else the route does not match (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, LARGEST_ID if max is None else max, signed)


def _beyond_ids(value: str) -> bool:
    """True for text that int() reads as a whole number no id column can hold."""
    digits = value.strip().lstrip("+-").replace("_", "")
    if not (digits.isascii() and digits.isdigit()):
        return False
    significant = digits.lstrip("0")
    return len(significant) > 10 or int(significant or "0") > LARGEST_ID


def refuse_ids_beyond_range() -> None:
    """A query parameter such as ?page= or ?topic= beyond an id column is answered 400 before any view reads it."""
    for key, value in request.args.items(multi=True):
        if key not in TEXT_PARAMETERS and _beyond_ids(value):
            abort(400)


def render_error(code: int, title: str | None = None, message: str | None = None):
    """Render the error page for an HTTP status."""
    default_title, default_message = _messages().get(code, _messages()[400])
    return render_template("error.html", title=title or default_title, message=message or default_message), code


def init_app(app: Flask) -> None:
    """Register the error handlers, and refuse ids that no id column can hold."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_ids_beyond_range)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, gettext("The form has expired"), gettext("Please reload the page and submit the form again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith(API_PREFIX):
            return from_http_exception(error)
        if isinstance(error, RequestEntityTooLarge):
            # The body was refused unread: the error page (its layout builds forms) must not read it again.
            request.form = ImmutableMultiDict()
            request.files = ImmutableMultiDict()
        return render_error(error.code or 500)

    @app.errorhandler(UnicodeError)
    def unicode_error(error: UnicodeError):
        if request.path.startswith(API_PREFIX):
            return problem(400)
        return render_error(400)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        if request.path.startswith(API_PREFIX):
            return problem(500)
        return render_error(500)
