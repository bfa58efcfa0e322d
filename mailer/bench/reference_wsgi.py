"""The app as deployed (wsgi:app) plus the benchmark's bare-Flask reference page, in one WSGI callable,
so that both are measured on the same gunicorn in the same run (python -m mailer.bench web).

The reference is what the framework costs with nothing of ours: a plain Flask app returning a fixed
~8 KB HTML page, dispatched by path before the real app sees the request.
"""
from __future__ import annotations

from flask import Flask

from wsgi import app as mailer_app

REFERENCE_PATH = "/__bench/reference"
PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>reference</title></head><body><main>"
        + "".join(f"<p>Paragraph {i}: the bare framework's page, about as large as an events page.</p>"
                  for i in range(100))
        + "</main></body></html>")

reference = Flask("reference")


@reference.get(REFERENCE_PATH)
def page():
    return PAGE


def app(environ, start_response):
    if environ.get("PATH_INFO") == REFERENCE_PATH:
        return reference(environ, start_response)
    return mailer_app(environ, start_response)
