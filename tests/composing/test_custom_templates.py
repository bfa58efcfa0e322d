"""Custom templates: checked in the sandbox at save time, then used for real sends."""
from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import update

from mailer.extensions import db
from mailer.models import Mailing, MailTemplate
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from tests.helpers import form_fields, parse_mail
from tests.factories import create_mailing, create_subscribers

HTML = ('<html lang="{{ language }}"><body><h1>{{ subject }}</h1><p>{{ greeting }}</p>{{ body_html }}'
        '{{ event_card_html }}<p><a href="{{ unsubscribe_url }}">Afmeld</a></p></body></html>')
TEXT = "{{ greeting }}\n\n{{ body_text }}\n\nAfmeld: {{ unsubscribe_url }}\n"


def _save(admin, **fields):
    page = admin.get("/staff/templates/new")
    assert page.status_code == 200
    data = {**form_fields(page.get_data(as_text=True)), "name": "Efterår", "html_source": HTML, "text_source": TEXT}
    return admin.post("/staff/templates/new", data={**data, **fields})


@pytest.mark.parametrize("html_source, message", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "is unsafe"),
    ("{{ cycler.__init__.__globals__ }}" + HTML, "not allowed"),
    ("{% for i in range(10**7) %}x{% endfor %}" + HTML, "too much output"),
    ("{% for i in range(9000) %}" + "x" * 100 + "{% endfor %}" + HTML, "too much output"),
    ("{% for i in range(90000) %}xxxxxxxxxx{% endfor %}" + HTML, "too much work"),  # range() gives at most 10,000
    ("{{ 'x' * 10**9 }}" + HTML, "too much output"),
    ("{% if %}", "error on line 1"),
    ("{{ no_such_thing }}" + HTML, "is undefined"),
    ("<p>{{ greeting }}</p>", "must show the unsubscribe link"),
])
def test_unsafe_or_huge_templates_are_refused_with_a_clear_message(app, admin, html_source, message):
    response = _save(admin, html_source=html_source)
    assert response.status_code == 400
    page = html_lib.unescape(response.get_data(as_text=True))
    assert "The template was refused" in page and message in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MailTemplate)) == 0


def test_a_saved_template_is_used_for_real_sends(app, admin, outbox):
    assert _save(admin).status_code == 303
    assert "Efterår" in admin.get("/staff/templates/").get_data(as_text=True)
    with app.app_context():
        template_id = db.session.scalar(db.select(MailTemplate.id))
        create_subscribers(2)
        mailing_id = create_mailing("newsletter")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(template_id=template_id))
        db.session.commit()
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        SendingRun(mailing_id, "w", build_sender(), engine_settings()).run()
    assert len(outbox.sent) == 2
    for _, _, data in outbox.sent:
        mail = parse_mail(data)
        html = mail.get_body(("html",)).get_content()
        text = mail.get_body(("plain",)).get_content()
        assert "<h1>Ny workshop i Aarhus</h1>" in html and "<strong>workshop</strong>" in html
        assert "https://news.example.org/unsubscribe/" in html and "Afmeld: https://news.example.org/unsubscribe/" in text


def test_editing_a_template_checks_it_again(app, admin):
    assert _save(admin).status_code == 303
    with app.app_context():
        template_id = db.session.scalar(db.select(MailTemplate.id))
    path = f"/staff/templates/{template_id}/edit"
    page = admin.get(path).get_data(as_text=True)
    response = admin.post(path, data={**form_fields(page), "name": "Efterår", "html_source": "{{ ''.__class__ }}",
                                      "text_source": TEXT})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(MailTemplate, template_id).html_source == HTML
