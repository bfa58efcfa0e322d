"""Pick the visitor's language: an explicit switch, the subscriber's choice, then Accept-Language."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session

from mailer.extensions import babel


def select_locale() -> str:
    """Return 'da' or 'en' for the current request."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a task or a CLI command: callers force the locale they need
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    subscriber_language = g.get("subscriber_language")
    if subscriber_language in languages:
        return subscriber_language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our language selector."""
    babel.init_app(app, locale_selector=select_locale)
