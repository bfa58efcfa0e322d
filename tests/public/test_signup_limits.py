"""The signup limits' address key copes with a body too large to read: a 413, and no traceback in the log."""
from __future__ import annotations

import logging


def test_a_body_over_the_limit_gets_413_without_a_rate_limit_traceback(app, client, caplog):
    app.config["EMBED_ORIGINS"] = frozenset({"https://www.example.org"})
    with caplog.at_level(logging.ERROR):
        for path in ("/subscribe", "/new-link", "/embed/subscribe"):
            response = client.post(path, data={"email": "x" * (70 * 1024)}, headers={"Origin": "https://www.example.org"})
            assert response.status_code == 413, path
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
