"""Issue 10, item 5: a hostile custom template fails fast with a clear error; every Celery task has time limits."""
from __future__ import annotations

import html as html_lib
import time

import pytest
from sqlalchemy import update

from mailer.composing.custom_templates import TemplateRefused, render_custom, sample_context
from mailer.config import ConfigError, load_config
from mailer.extensions import db
from mailer.models import Mailing, MailTemplate
from tests.helpers import form_fields
from tests.factories import create_mailing

HTML = '<html lang="{{ language }}"><body>{{ greeting }}{{ body_html }}<a href="{{ unsubscribe_url }}">x</a></body></html>'
TEXT = "{{ greeting }}\n{{ body_text }}\n{{ unsubscribe_url }}\n"
NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
ONLY_ENGLISH = "{% if language == 'en' %}" + NESTED + "{% endif %}"
HOSTILE = {
    "nested ranges": NESTED,
    "nested smaller ranges": "{% for i in range(10000) %}{% for j in range(10000) %}{{ '' }}{% endfor %}{% endfor %}",
    "star width": "{{ ('%*s' % (10**9, ''))|length }}",
    "doubling": "{% set a = 'x' * 400000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{{ d|length }}",
    "replace": "{% set a = 'x' * 100000 %}{{ a.replace('x', a)|length }}",
    "indent": "{% set a = 'x\n' * 100000 %}{{ a|indent(100000)|length }}",
    "big numbers": ("{% set a = 2 ** 60 %}{% set b = a * a * a * a * a * a * a * a %}"
                    "{% set c = b * b * b * b * b * b * b * b %}{% set d = c * c * c * c * c * c * c * c %}"
                    "{{ d * d * d * d * d * d * d * d }}"),
    "recursive macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "only english": ONLY_ENGLISH,
}


def _save(admin, html_source):
    page = admin.get("/staff/templates/new").get_data(as_text=True)
    return admin.post("/staff/templates/new", data={**form_fields(page), "name": "Hostile",
                                                    "html_source": html_source + HTML, "text_source": TEXT})


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_refused_fast_at_save_time(app, admin, source):
    start = time.perf_counter()
    response = _save(admin, source)
    assert time.perf_counter() - start < 2
    assert response.status_code == 400
    page = html_lib.unescape(response.get_data(as_text=True))
    assert "The template was refused" in page
    assert any(reason in page for reason in ("too much work", "too much output", "too large"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MailTemplate)) == 0


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_fails_fast_at_render(app, source):
    with app.app_context():
        context = {**sample_context(True), "language": "en"}
        start = time.perf_counter()
        with pytest.raises(TemplateRefused):
            render_custom(source + HTML, context, html=True)
        assert time.perf_counter() - start < 2


def test_the_refusal_is_in_danish_for_a_danish_admin(app, admin):
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    page = html_lib.unescape(_save(admin, NESTED).get_data(as_text=True))
    assert "for meget arbejde" in page


def test_a_preview_of_a_stored_hostile_template_answers_fast(app, editor):
    with app.app_context():
        template = MailTemplate(name="Sneaked in", html_source=ONLY_ENGLISH + HTML, text_source=TEXT)
        db.session.add(template)
        db.session.commit()
        mailing_id = create_mailing("newsletter")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(template_id=template.id))
        db.session.commit()
    start = time.perf_counter()
    response = editor.get(f"/staff/mailings/{mailing_id}/preview?language=en")
    assert time.perf_counter() - start < 2
    assert response.status_code == 200
    assert "The mailing cannot be rendered" in html_lib.unescape(response.get_data(as_text=True))


def test_every_celery_task_has_soft_and_hard_time_limits(app):
    conf = app.extensions["celery"].conf
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    sender = conf.task_annotations["mailer.tasks.sending.send_mailing"]
    assert 0 < sender["soft_time_limit"] < sender["time_limit"]


@pytest.mark.parametrize(("settings", "named"), [
    ({"MAILER_TASK_SOFT_TIME_LIMIT": "soon"}, "MAILER_TASK_SOFT_TIME_LIMIT"),
    ({"MAILER_TASK_TIME_LIMIT": "0"}, "MAILER_TASK_TIME_LIMIT"),
    ({"MAILER_TASK_SOFT_TIME_LIMIT": "600", "MAILER_TASK_TIME_LIMIT": "300"}, "MAILER_TASK_TIME_LIMIT"),
    ({"MAILER_SEND_TASK_SOFT_TIME_LIMIT": "-1"}, "MAILER_SEND_TASK_SOFT_TIME_LIMIT"),
])
def test_bad_time_limits_stop_the_app_naming_the_setting(tmp_path, monkeypatch, settings, named):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        load_config(str(tmp_path))


def test_time_limits_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILER_TASK_SOFT_TIME_LIMIT", "100")
    monkeypatch.setenv("MAILER_TASK_TIME_LIMIT", "130")
    config = load_config(str(tmp_path))
    assert (config["TASK_SOFT_TIME_LIMIT"], config["TASK_TIME_LIMIT"]) == (100, 130)
