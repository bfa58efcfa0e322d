"""The API object that writes the OpenAPI 3.1 document, and the error responses each operation documents."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from flask_smorest import Api, Blueprint

from mailer.api.auth import protect
from mailer.api.problems import PROBLEM_TYPE, ProblemSchema

API_PREFIX = "/api/v1"
DOCUMENTED_PROBLEMS = (400, 401, 403, 404, 409, 412, 422, 428, 429)
DESCRIPTION = """The JSON API of mailer: subscribers (double opt-in, or consent recorded from another
system), topics, events, mailings and the consent ledger.

Send an API key as `Authorization: Bearer mk_…` (admins create keys in the staff workspace, under
*API keys*). Read-only keys may only GET. Errors are `application/problem+json` (RFC 9457) with a
`detail` in the language of `Accept-Language` (Danish or English). Lists are pages of at most
`limit` items; pass the page's `next_after` as `?after=` for the next one. A POST with an
`Idempotency-Key` header is done once, however often it is retried. Reads carry an `ETag`; send it
back as `If-None-Match` to get `304 Not Modified`. Each key has a request budget per minute, shown in
the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers."""


class MailerApi(Api):
    """flask-smorest's Api, leaving error pages to mailer/errors.py (which answers /api/ with problems)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        """The error responses flask-smorest documents for its own use (304, default), as problem+json."""
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_TYPE: {"schema": "Problem"}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response("DEFAULT_ERROR", {
            "description": "An error", "content": {PROBLEM_TYPE: {"schema": "Problem"}}}, lazy=True)

    def _register_error_handlers(self):
        pass


def configure(app) -> MailerApi:
    """Make the app's Api (its spec is served at /api/v1/openapi.json) with the problem responses."""
    app.config.setdefault("API_TITLE", "mailer API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = MailerApi(app, spec_kwargs={
        "info": {"description": DESCRIPTION},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "An API key, mk_…"}}},
        "security": [{"bearerAuth": []}],
    })
    for code in DOCUMENTED_PROBLEMS:
        api.spec.components.response(f"Problem{code}", {
            "description": HTTPStatus(code).phrase,
            "content": {PROBLEM_TYPE: {"schema": "Problem"}},
        })
    api.spec.components.schema("Problem", schema=ProblemSchema)
    return api


def api_blueprint(name: str, path: str, description: str) -> Blueprint:
    blueprint = Blueprint(name, __name__, url_prefix=f"{API_PREFIX}/{path}", description=description)
    protect(blueprint)
    return blueprint


def problems(blueprint: Blueprint, *codes: int) -> Callable:
    """Document these problem answers on an operation; any may get 400, 401, 422 (bad query) and 429."""

    def decorator(view: Callable) -> Callable:
        for code in sorted({400, 401, 422, 429, *codes}):
            view = blueprint.alt_response(code, response=f"Problem{code}")(view)
        return view

    return decorator
