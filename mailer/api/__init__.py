"""HTTP: the JSON API at /api/v1 (flask-smorest), authenticated by API keys; see docs/API.md."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from mailer.api.docs import configure
    from mailer.api.events import bp as events_bp
    from mailer.api.mailings import bp as mailings_bp
    from mailer.api.subscribers import bp as subscribers_bp
    from mailer.api.topics import bp as topics_bp

    api = configure(app)
    api.register_blueprint(subscribers_bp)
    api.register_blueprint(topics_bp)
    api.register_blueprint(events_bp)
    api.register_blueprint(mailings_bp)
