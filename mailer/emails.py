"""Render mail templates (html + txt pairs) and build public links for mails."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import css_inline
from flask import current_app, render_template
from flask_babel import force_locale


_inliner = css_inline.CSSInliner(keep_style_tags=True)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def public_url(endpoint: str, **values: Any) -> str:
    """Build an absolute URL on MAILER_BASE_URL, with or without a request."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def render_email(template: str, language: str, subject: str, **context: Any) -> RenderedEmail:
    """Render templates/email/<template>.html and .txt in the given language.

    `subject` is a callable-free string already translated by the caller inside the
    same locale, or a lazy string; it is rendered here so both parts agree.
    """
    with force_locale(language):
        context = {"language": language, "subject": str(subject), **context}
        html = render_template(f"email/{template}.html", **context)
        text = render_template(f"email/{template}.txt", **context)
    return RenderedEmail(subject=context["subject"], html=_inliner.inline(html), text=text)


def unsubscribe_mailto(token: str) -> str:
    """Return the mailto: form of List-Unsubscribe for a token."""
    return f"{unsubscribe_mailto_prefix()}{token}"


def unsubscribe_mailto_prefix() -> str:
    """The mailto: form of List-Unsubscribe up to the token (worked out once per batch by the engine)."""
    sender_domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].rstrip(">").strip()
    return f"mailto:unsubscribe@{sender_domain}?subject=unsubscribe%20"
