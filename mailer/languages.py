"""The languages mailer speaks, stated once: Danish first (the default), then English."""
from __future__ import annotations

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
# Each language's name in itself, as a reader looks for it in a list.
LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}
