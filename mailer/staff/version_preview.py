"""HTTP: the mailing editor's live preview of one language version, fetched by htmx as staff type.

The editor posts the whole form (its CSRF token included) to this endpoint for each
language; the answer is a fragment with the subject and the mail in a sandboxed frame, as a
sample reader of that language gets it, frame and event card included. Nothing is saved.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext

from mailer.languages import LANGUAGES, other_language
from mailer.mailings import preview
from mailer.mailings.versions import version_columns
from mailer.staff.auth import staff_required

bp = Blueprint("staff_version_preview", __name__, url_prefix="/staff/mailings")

_FIELD_LIMIT = 70_000  # above the body limit: the preview never renders more than a draft may hold


def _optional_id(name: str) -> int | None:
    value = (request.form.get(name) or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


@bp.post("/version-preview/<language>")
@staff_required()
def version_preview(language: str):
    """The fragment for one language's version, rendered from the form as it is now."""
    if language not in LANGUAGES:
        abort(404)
    texts = {column: (request.form.get(column) or "")[:_FIELD_LIMIT] for column in version_columns()}
    topic_ids = [int(v) for v in request.form.getlist("topics") if v.isascii() and v.isdigit() and len(v) <= 9]
    falls_back = not (texts[f"subject_{language}"].strip() or texts[f"body_markdown_{language}"].strip())
    message, error = None, None
    try:
        message = preview.render_unsaved(texts, language, topic_ids=topic_ids, event_id=_optional_id("event_id"),
                                         template_id=_optional_id("template_id"))
    except ValueError as problem:  # a custom template that does not render
        error = str(problem)
    return render_template("staff/_version_preview.html", message=message, error=error, language=language,
                           falls_back=falls_back, shown=other_language(language) if falls_back else language,
                           title=gettext("Preview of the Danish version") if language == "da"
                           else gettext("Preview of the English version"))
