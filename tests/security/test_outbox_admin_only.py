"""Issue 10, item 16: the staff outbox shows every mail's live links, so only admins read it."""
from __future__ import annotations

from mailer.mail.mime import MessageBuilder
from mailer.mail.transports import OutboxTransport


def _one_mail(app) -> str:
    builder = MessageBuilder(sender="news@example.org", message_id_domain="example.org")
    mail = builder.build(to="reader@example.org", subject="Hej Åse", text="https://news.example.org/manage/LIVE",
                         html="<p>x</p>")
    OutboxTransport(app.config["OUTBOX_FOLDER"]).send("news@example.org", "reader@example.org", mail.data)
    return next(name for name in __import__("os").listdir(app.config["OUTBOX_FOLDER"]) if name.endswith(".eml"))


def test_an_editor_cannot_read_the_outbox_or_see_its_link(app, editor):
    name = _one_mail(app)
    assert editor.get("/staff/outbox").status_code == 403
    response = editor.get(f"/staff/outbox/{name}")
    assert response.status_code == 403
    assert "manage/LIVE" not in response.get_data(as_text=True)
    assert 'href="/staff/outbox"' not in editor.get("/staff/mailings/").get_data(as_text=True)


def test_an_admin_still_reads_the_outbox(app, admin):
    name = _one_mail(app)
    assert "Hej Åse" in admin.get("/staff/outbox").get_data(as_text=True)
    assert "manage/LIVE" in admin.get(f"/staff/outbox/{name}").get_data(as_text=True)
    assert 'href="/staff/outbox"' in admin.get("/staff/mailings/").get_data(as_text=True)
