"""Errors of /api/v1 as RFC 9457 problem documents (application/problem+json), with a translated `detail`."""
from __future__ import annotations

from flask import Response, current_app, json
from flask_babel import gettext
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/"


class ProblemSchema(Schema):
    """The body of every error answer."""

    type = fields.String(metadata={"description": "A URI naming the problem; `about:blank` for plain HTTP errors"})
    title = fields.String(required=True, metadata={"description": "The HTTP status in words (English)"})
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, in the Accept-Language"})
    errors = fields.Dict(metadata={"description": "Field -> list of messages, for invalid input"})


def _details() -> dict[int, str]:
    return {
        400: gettext("The request could not be read. Check that the body is valid JSON."),
        401: gettext("A valid API key is needed: send it as 'Authorization: Bearer <key>'."),
        403: gettext("This API key may only read. Ask an admin for a read-write key."),
        404: gettext("There is nothing at this address."),
        405: gettext("This address does not take that method."),
        406: gettext("This API answers in JSON only."),
        409: gettext("This conflicts with the current state of the resource."),
        412: gettext("The resource has changed since you read it."),
        413: gettext("The request body is too large."),
        415: gettext("Send the body as application/json."),
        422: gettext("Some fields are invalid; see 'errors'."),
        428: gettext("This request needs a precondition header."),
        429: gettext("Too many requests with this API key. Wait and try again; see the RateLimit headers."),
        500: gettext("Something went wrong on our side. Nothing was changed; please try again."),
    }


def problem(status: int, detail: str | None = None, *, errors: dict | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A problem+json response."""
    from http import HTTPStatus

    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status,
                               "detail": detail or _details().get(status, title)}
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(data: dict) -> dict | None:
    """webargs' messages {location: {field: [..]}} flattened to {field: [..]}."""
    messages = data.get("messages") or data.get("errors")
    if not isinstance(messages, dict):
        return None
    flat: dict[str, object] = {}
    for location, fields_ in messages.items():
        if isinstance(fields_, dict) and location in ("json", "query", "headers", "path", "view_args", "form"):
            flat.update(fields_)
        else:
            flat[location] = fields_
    return flat


def from_http_exception(error: HTTPException):
    """The problem answer for an HTTP error raised inside /api/ (304 Not Modified passes through)."""
    code = error.code or 500
    if code < 400:
        return error.get_response()
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if code == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="mailer"'
    errors = _field_errors(data) if code in (400, 422) else None
    return problem(code, data.get("detail"), errors=errors, headers=headers)
