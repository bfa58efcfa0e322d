"""Custom mail templates: look them up, and save them once the sandbox check has passed."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import MailTemplate

log = logging.getLogger(__name__)


def list_templates() -> list[MailTemplate]:
    """Return the custom mail templates by name."""
    return list(db.session.scalars(select(MailTemplate).order_by(MailTemplate.name)))


def get_template(template_id: int) -> MailTemplate | None:
    """Return the template with this id, or None."""
    return db.session.get(MailTemplate, template_id)


def name_taken(name: str, template_id: int | None) -> bool:
    """Return True if another template (not `template_id`) has this name, whatever its case."""
    query = select(MailTemplate.id).where(func.lower(MailTemplate.name) == name.strip().lower())
    if template_id is not None:
        query = query.where(MailTemplate.id != template_id)
    return db.session.scalar(query) is not None


def create_template(name: str, html_source: str, text_source: str, created_by_id: int) -> MailTemplate:
    """Save a new template (already checked in the sandbox). Commits."""
    template = MailTemplate(name=name.strip(), html_source=html_source, text_source=text_source,
                            created_by_id=created_by_id)
    db.session.add(template)
    db.session.commit()
    log.info("mail template %s saved by staff %s", template.id, created_by_id)
    return template


def update_template(template_id: int, name: str, html_source: str, text_source: str, changed_by_id: int) -> None:
    """Replace a template's name and sources (already checked in the sandbox). Commits."""
    template = get_template(template_id)
    if template is None:
        raise LookupError(f"mail template {template_id} does not exist")
    template.name = name.strip()
    template.html_source = html_source
    template.text_source = text_source
    db.session.commit()
    log.info("mail template %s changed by staff %s", template_id, changed_by_id)
