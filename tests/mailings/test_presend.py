"""The pre-send check: each warning, shown in the preview and recorded when sending."""
from __future__ import annotations

import json

import pytest

from mailer.mailings.presend import presend_warnings
from mailer.extensions import db
from mailer.models import Mailing
from tests.helpers import form_fields
from tests.factories import create_mailing, create_subscriber

GOOD_HTML = ('<!doctype html><html lang="da"><head><title>x</title><style>p{color:red}</style></head><body>'
             '<p>Kom til workshop. <a href="https://example.org/tilmeld">Tilmeld dig workshoppen</a></p>'
             '<img src="https://example.org/a.jpg" alt="Deltagere"></body></html>')
GOOD_TEXT = "Kom til workshop. Tilmeld dig workshoppen: https://example.org/tilmeld"


def codes(subject="Ny workshop", preheader="Den 19. september", html=GOOD_HTML, text=GOOD_TEXT) -> list[str]:
    return [w.code for w in presend_warnings(subject, preheader, html, text)]


def test_a_good_mail_has_no_warnings(app):
    with app.test_request_context():
        assert codes() == []


@pytest.mark.parametrize("change, code", [
    ({"html": GOOD_HTML.replace(' alt="Deltagere"', "")}, "image_without_alt"),
    ({"html": GOOD_HTML.replace(' alt="Deltagere"', ' alt=" "')}, "image_without_alt"),
    ({"html": GOOD_HTML.replace(' lang="da"', "")}, "missing_lang"),
    ({"html": GOOD_HTML.replace("Tilmeld dig workshoppen", "click here")}, "vague_link_text"),
    ({"html": GOOD_HTML.replace("Tilmeld dig workshoppen", "Klik her!")}, "vague_link_text"),
    ({"html": GOOD_HTML.replace("Tilmeld dig workshoppen", "<strong>klik</strong> her")}, "vague_link_text"),
    ({"html": GOOD_HTML.replace("https://example.org/tilmeld", "http://example.org/tilmeld")}, "insecure_link"),
    ({"subject": "x" * 81}, "subject_too_long"),
    ({"subject": "  "}, "subject_empty"),
    ({"preheader": ""}, "preheader_empty"),
    ({"text": "Kom."}, "text_too_short"),
])
def test_each_problem_is_warned_about(app, change, code):
    with app.test_request_context():
        assert codes(**change) == [code]


def test_hidden_text_does_not_count_as_content(app):
    hidden = GOOD_HTML.replace("<body>", '<body><div style="display: none">' + "skjult " * 200 + "</div>")
    with app.test_request_context():
        assert codes(html=hidden) == []


def test_the_preview_shows_the_warnings_and_sending_records_them(app, admin, run_tasks):
    with app.app_context():
        mailing_id = create_mailing(
            "newsletter", subject="Ny workshop " + "x" * 80,
            body="![](https://example.org/a.jpg)\n\n[klik her](http://example.org/tilmeld)")
        db.session.get(Mailing, mailing_id).preheader_da = ""
        db.session.commit()
        create_subscriber("reader@example.org", "newsletter")
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    for code in ("image_without_alt", "vague_link_text", "insecure_link", "subject_too_long", "preheader_empty"):
        assert f'data-code="{code}"' in page
    response = admin.post(f"/staff/mailings/{mailing_id}/send-now", data=form_fields(page))
    assert response.status_code == 303  # warnings never block sending
    with app.app_context():
        recorded = json.loads(db.session.get(Mailing, mailing_id).presend_warnings)
    assert {w["code"] for w in recorded} == {"image_without_alt", "vague_link_text", "insecure_link",
                                             "subject_too_long", "preheader_empty"}
    assert all(w["message"] for w in recorded)
