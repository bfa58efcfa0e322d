"""API keys for the API tests."""
from __future__ import annotations

import pytest


def make_key(app, scope: str = "read_write", name: str = "ticket shop") -> str:
    from mailer import api_keys
    from mailer.extensions import db

    with app.app_context():
        secret = api_keys.create_key(name, scope, None).secret
        db.session.commit()
    return secret


@pytest.fixture
def api(app):
    """A client with a read-write key: api.get/post/patch/delete(path, ...) with the bearer header."""
    return ApiClient(app.test_client(), make_key(app))


class ApiClient:
    def __init__(self, client, secret: str) -> None:
        self.client = client
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.secret}", "Accept-Language": "en", **(headers or {})}

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path, headers=None, **kw):
        return self.client.post(path, headers=self._headers(headers), **kw)

    def patch(self, path, headers=None, **kw):
        return self.client.patch(path, headers=self._headers(headers), **kw)

    def delete(self, path, headers=None, **kw):
        return self.client.delete(path, headers=self._headers(headers), **kw)

    def put(self, path, headers=None, **kw):
        return self.client.put(path, headers=self._headers(headers), **kw)
