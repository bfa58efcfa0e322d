"""Admins run the topics: create in both languages, rename, order, private, archive, delete; every change recorded."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import ConsentEvent, MailingStatus, Topic, TopicChange
from tests.factories import create_mailing, create_subscriber
from tests.helpers import csrf_token, form_fields, send_in_process, subscribe


def _create(client, name_da="Keramik", name_en="Ceramics", **extra):
    page = client.get("/staff/topics/")
    data = {**form_fields(page.get_data(as_text=True)), "name_da": name_da, "name_en": name_en,
            "description_da": "Værksteder med ler", "description_en": "Clay workshops", "is_public": "y", **extra}
    return client.post("/staff/topics/", data=data, follow_redirects=True)  # the redirect shows (and uses up) the flash


def _topic(name_en: str) -> Topic:
    return db.session.scalar(db.select(Topic).filter_by(name_en=name_en))


def test_a_new_topic_in_both_languages_is_on_the_signup_form_in_each(app, admin):
    response = _create(admin)
    assert response.status_code == 200 and "has been created" in response.get_data(as_text=True)
    assert "Ceramics" in admin.get("/subscribe").get_data(as_text=True)
    danish = admin.get("/subscribe", headers={"Accept-Language": "da"}).get_data(as_text=True)
    assert "Keramik" in danish and "Værksteder med ler" in danish
    with app.app_context():
        topic = _topic("Ceramics")
        assert (topic.name_da, topic.description_en) == ("Keramik", "Clay workshops")
        change = db.session.scalar(db.select(TopicChange).filter_by(topic_id=topic.id))
        assert change.action == "create" and change.staff.email == "admin@example.org" and change.created_at


def test_a_topic_without_a_name_is_refused_with_a_clear_error(admin):
    response = _create(admin, name_da="")
    assert response.status_code == 400
    assert "Please give the topic a Danish name." in response.get_data(as_text=True)


def test_a_private_topic_is_not_on_the_signup_form_but_staff_can_send_to_it(app, admin):
    _create(admin, name_da="Bestyrelsen", name_en="The board", is_public="")
    assert "The board" not in admin.get("/subscribe").get_data(as_text=True)
    assert "The board" in admin.get("/staff/mailings/new").get_data(as_text=True)


def test_archiving_hides_the_topic_from_signup_and_stops_new_mail_but_keeps_history(app, admin, outbox):
    _create(admin)
    with app.app_context():
        topic_id = _topic("Ceramics").id
        slug = _topic("Ceramics").slug
        create_subscriber("ler@example.org", slug)
        mailing_id = create_mailing(slug)
    admin.post(f"/staff/topics/{topic_id}/archive", data={"csrf_token": csrf_token(admin)}, follow_redirects=True)
    assert "Ceramics" not in admin.get("/subscribe").get_data(as_text=True)
    assert "Ceramics" not in admin.get("/staff/mailings/new").get_data(as_text=True)
    with app.app_context():
        from mailer.mailings import states
        states.send_now(mailing_id)
        states.start(mailing_id)
        from mailer.sending.engine import SendingRun
        from mailer.sending.run_setup import build_sender, engine_settings
        SendingRun(mailing_id, "w", build_sender(), engine_settings()).run()
        assert db.session.get(Topic, topic_id) is not None            # history kept
        assert [c.action for c in db.session.scalars(db.select(TopicChange).filter_by(topic_id=topic_id))] == ["create", "archive"]
    assert outbox.sent == []                                         # no new mail to an archived topic
    page = admin.get(f"/staff/topics/{topic_id}").get_data(as_text=True)
    assert "Archived" in page and "admin@example.org" in page


def test_renaming_never_changes_what_a_subscriber_consented_to(app, admin, client, run_tasks):
    _create(admin)
    with app.app_context():
        topic_id = _topic("Ceramics").id
    subscribe(client, "visitor@example.org", [topic_id], language="en")
    run_tasks()
    page = admin.get(f"/staff/topics/{topic_id}")
    admin.post(f"/staff/topics/{topic_id}", data={**form_fields(page.get_data(as_text=True)), "name_da": "Keramik og glas",
                                                  "name_en": "Ceramics and glass", "description_da": "", "description_en": "",
                                                  "is_public": "y"})
    with app.app_context():
        assert _topic("Ceramics and glass").id == topic_id
        names = set(db.session.scalars(db.select(ConsentEvent.topic_name).filter_by(topic_id=topic_id)))
        assert names == {"Ceramics"}
        change = db.session.scalar(db.select(TopicChange).filter_by(topic_id=topic_id, action="edit"))
        assert "Ceramics → Ceramics and glass" in change.detail


def test_a_topic_with_sent_mailings_cannot_be_deleted_only_archived(app, admin, outbox):
    _create(admin)
    _create(admin, name_da="Tom", name_en="Empty")
    with app.app_context():
        used, empty = _topic("Ceramics"), _topic("Empty")
        used_id, empty_id = used.id, empty.id
        create_subscriber("ler@example.org", used.slug)
        mailing_id = create_mailing(used.slug)
        from mailer.mailings import states
        states.send_now(mailing_id)
        send_in_process(mailing_id)
    response = admin.post(f"/staff/topics/{used_id}/delete", data={"csrf_token": csrf_token(admin)}, follow_redirects=True)
    assert "cannot be deleted" in response.get_data(as_text=True)
    admin.post(f"/staff/topics/{empty_id}/delete", data={"csrf_token": csrf_token(admin)})
    with app.app_context():
        assert db.session.get(Topic, used_id) is not None
        assert db.session.get(Topic, empty_id) is None
        assert db.session.scalar(db.select(TopicChange).filter_by(topic_id=empty_id, action="delete")) is not None


def test_moving_a_topic_changes_the_order_on_the_signup_form(app, admin):
    _create(admin)
    with app.app_context():
        topic_id = _topic("Ceramics").id
        count = db.session.scalar(db.select(db.func.count()).select_from(Topic))
    for _ in range(count):
        admin.post(f"/staff/topics/{topic_id}/move/up", data={"csrf_token": csrf_token(admin)})
    form = admin.get("/subscribe").get_data(as_text=True)
    with app.app_context():
        others = list(db.session.scalars(db.select(Topic.id).where(Topic.id != topic_id, Topic.is_public)))
    boxes = [form.index(f'name="topics" type="checkbox" value="{i}"') for i in [topic_id, *others]]
    assert boxes[0] == min(boxes)


def test_editors_cannot_manage_topics(editor):
    assert editor.get("/staff/topics/").status_code == 403
