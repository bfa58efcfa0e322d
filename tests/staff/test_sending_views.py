"""Staff pages of a sending mailing: live progress, the delivery ledger, pause / resume / cancel."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Delivery, DeliveryStatus, Subscriber
from mailer.models.types import utcnow
from mailer.mailings import states
from mailer.sending.progress import MailingNotFound, mailing_progress, delivery_page
from tests.helpers import form_fields
from tests.factories import create_mailing, create_subscribers

RECIPIENTS = 60
REASON = "12 of 50 messages failed; paused automatically"


def _ids_by_position(mailing_id: int) -> list[int]:
    return list(db.session.scalars(
        select(Delivery.id).where(Delivery.mailing_id == mailing_id).order_by(Delivery.id)))


def _mark(ids: list[int], status: DeliveryStatus, **values) -> None:
    db.session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(status=status, **values)
                       .execution_options(synchronize_session=False))


@pytest.fixture
def sending(app):
    """A started mailing of 60 recipients: 30 sent (15 of them in the last 30 s), 5 bounced,
    2 failed, 1 unknown, 1 skipped, 2 claimed and 19 pending; started a minute ago."""
    with app.app_context():
        create_subscribers(RECIPIENTS, "newsletter")
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        now = utcnow()
        ids = _ids_by_position(mailing_id)
        assert len(ids) == RECIPIENTS
        _mark(ids[:15], DeliveryStatus.SENT, sent_at=now - timedelta(minutes=5), message_id="<old@example.org>")
        _mark(ids[15:30], DeliveryStatus.SENT, sent_at=now - timedelta(seconds=5), smtp_reply="250 ok")
        _mark(ids[30:35], DeliveryStatus.BOUNCED, smtp_reply="550 5.1.1 no such user", last_error="bounced")
        _mark(ids[35:37], DeliveryStatus.FAILED, last_error="sender refused")
        _mark(ids[37:38], DeliveryStatus.UNKNOWN, last_error="connection lost after the final dot")
        _mark(ids[38:39], DeliveryStatus.SKIPPED)
        _mark(ids[39:41], DeliveryStatus.CLAIMED, claimed_by="worker-a", lease_expires_at=now - timedelta(seconds=1))
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(started_at=now - timedelta(minutes=1)))
        db.session.commit()
        return mailing_id


def _emails(app, mailing_id: int, status: DeliveryStatus) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(Subscriber.email).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.mailing_id == mailing_id, Delivery.status == status)
            .order_by(Delivery.id)))


def _status(app, mailing_id: int) -> str | None:
    with app.app_context():
        return states.status_of(mailing_id)


def _page(client, mailing_id: int, query: str = "") -> str:
    response = client.get(f"/staff/mailings/{mailing_id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(client, mailing_id: int, action: str, with_token: bool = True):
    data = form_fields(_page(client, mailing_id)) if with_token else {}
    return client.post(f"/staff/mailings/{mailing_id}/{action}", data=data)


def _finish(app, mailing_id: int) -> None:
    with app.app_context():
        ids = _ids_by_position(mailing_id)
        db.session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status.in_(
            (DeliveryStatus.PENDING, DeliveryStatus.CLAIMED))).values(status=DeliveryStatus.SENT, sent_at=utcnow()))
        db.session.commit()
        assert states.finish_if_done(mailing_id)


# -- the domain queries ------------------------------------------------------------------


def test_progress_numbers_add_up(app, sending):
    with app.app_context():
        progress = mailing_progress(sending)
    assert progress["id"] == sending
    assert progress["status"] == "sending"
    assert progress["status_reason"] is None
    assert (progress["total"], progress["sent"], progress["bounced"], progress["failed"], progress["unknown"],
            progress["skipped"], progress["pending"]) == (60, 30, 5, 2, 1, 1, 21)
    assert progress["total"] == sum(progress[key] for key in ("sent", "failed", "bounced", "unknown", "skipped", "pending"))
    assert progress["percent"] == 65.0  # 39 of 60 done
    assert progress["rate"] == 0.5  # 15 sent in the last 30 s
    assert progress["eta_seconds"] == 42  # 21 left at 0.5 per second
    assert progress["started_at"] is not None and progress["finished_at"] is None


def test_progress_rate_counts_since_the_start_when_younger_than_the_window(app, clock):
    with app.app_context():
        create_subscribers(10, "newsletter")
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        states.start(mailing_id)
        now = clock.now  # frozen: on a busy machine the real clock moved on before the rate was read (0.49, not 0.5)
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(started_at=now - timedelta(seconds=10)))
        _mark(_ids_by_position(mailing_id)[:5], DeliveryStatus.SENT, sent_at=now - timedelta(seconds=2))
        db.session.commit()
        progress = mailing_progress(mailing_id)
    assert progress["rate"] == pytest.approx(0.5, abs=0.01)  # 5 in 10 s
    assert progress["eta_seconds"] == pytest.approx(10, abs=1)
    assert progress["percent"] == 50.0


def test_progress_of_a_finished_or_unstarted_mailing(app, sending):
    _finish(app, sending)
    with app.app_context():
        finished = mailing_progress(sending)
        draft = mailing_progress(create_mailing("newsletter"))
        with pytest.raises(MailingNotFound):
            mailing_progress(999_999)
    assert finished["status"] == "sent" and finished["percent"] == 100.0 and finished["pending"] == 0
    assert finished["rate"] == 0.0 and finished["eta_seconds"] is None and finished["finished_at"]
    assert draft["total"] == 0 and draft["percent"] == 0.0 and draft["eta_seconds"] is None
    assert draft["started_at"] is None


def test_delivery_page_filters_and_paginates(app, sending):
    with app.app_context():
        rows, total = delivery_page(sending, None, 3, per_page=25)
        assert total == 60 and len(rows) == 10
        bounced, total = delivery_page(sending, "bounced", 1)
        assert total == 5 and {row.status for row in bounced} == {"bounced"}
        assert bounced[0].smtp_reply == "550 5.1.1 no such user" and bounced[0].email.endswith("@example.org")
        first, _ = delivery_page(sending, "", 1, per_page=60)
        assert [row.id for row in first] == sorted(row.id for row in first)
        for bad in ("nonsense", "SENT", "sent' OR 1=1"):
            with pytest.raises(ValueError):
                delivery_page(sending, bad, 1)
        with pytest.raises(ValueError):
            delivery_page(sending, None, 0)


# -- the pages -----------------------------------------------------------------------------


def test_page_shows_live_progress_while_sending(app, admin, sending):
    html = _page(admin, sending)
    assert "Ny workshop i Aarhus" in html  # subject
    assert "Newsletter" in html or "newsletter" in html.lower()  # topic
    assert '<progress id="mailing-progress-bar" value="39" max="60"' in html
    assert f'hx-get="/staff/mailings/{sending}/progress"' in html
    assert 'hx-trigger="every 2s"' in html and 'hx-swap="outerHTML"' in html
    assert "vendor/htmx.min.js" in html
    assert 'data-count="bounced">5<' in html and 'data-count="pending">21<' in html
    assert "messages per second" in html
    assert "Pause" in html and "Cancel sending" in html and ">Resume<" not in html

    fragment = admin.get(f"/staff/mailings/{sending}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="mailing-progress"')
    assert "<html" not in body and 'hx-trigger="every 2s"' in body
    assert "HX-Refresh" not in fragment.headers


def test_after_send_now_the_page_polls_from_scheduled_on_and_swaps_in_place(app, admin):
    # "Send now" leaves the mailing scheduled for now until a worker starts it: the page must
    # already be polling, or it stays at "Scheduled, 0 of 0" until reloaded.
    with app.app_context():
        create_subscribers(2)
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
    html = _page(admin, mailing_id)
    assert 'hx-trigger="every 2s"' in html and f'hx-get="/staff/mailings/{mailing_id}/progress"' in html
    fragment = admin.get(f"/staff/mailings/{mailing_id}/progress", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in fragment.headers and "Scheduled" in fragment.get_data(as_text=True)
    with app.app_context():
        assert states.start(mailing_id)
    fragment = admin.get(f"/staff/mailings/{mailing_id}/progress", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "HX-Refresh" not in fragment.headers
    assert "Sending" in body and 'data-count="pending">2<' in body and 'hx-trigger="every 2s"' in body


def test_a_mailing_scheduled_for_later_polls_rarely(app, admin):
    with app.app_context():
        create_subscribers(1)
        mailing_id = create_mailing("newsletter")
        states.schedule(mailing_id, utcnow() + timedelta(days=2))
    assert 'hx-trigger="every 30s"' in _page(admin, mailing_id)


def test_the_mailings_list_shows_each_mailings_count_and_state(app, admin, sending):
    with app.app_context():
        draft = create_mailing("newsletter", subject="Et udkast")
    html = admin.get("/staff/mailings/").get_data(as_text=True)
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in html.split("<tr>")[1:]}
    assert "Sending" in rows["Ny workshop i Aarhus"] and 'data-count="sent">30 of 60<' in rows["Ny workshop i Aarhus"]
    assert "Draft" in rows["Et udkast"] and 'data-count="sent">–<' in rows["Et udkast"]
    assert draft


def test_polling_stops_when_sending_has_finished(app, admin, sending):
    _finish(app, sending)
    html = _page(admin, sending)
    assert "<progress" in html and 'value="60" max="60"' in html
    assert "hx-trigger" not in html and "hx-get" not in html
    assert "Pause" not in html and "Cancel sending" not in html
    # A page still polling from before gets the fragment without a trigger and a full reload.
    fragment = admin.get(f"/staff/mailings/{sending}/progress", headers={"HX-Request": "true"})
    assert "hx-trigger" not in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Refresh"] == "true"


def test_progress_json(app, admin, sending):
    response = admin.get(f"/staff/mailings/{sending}/progress.json")
    assert response.status_code == 200 and response.is_json
    data = response.get_json()
    assert data["total"] == data["sent"] + data["failed"] + data["bounced"] + data["unknown"] + data["skipped"] + data["pending"]
    assert data["percent"] == round((data["total"] - data["pending"]) / data["total"] * 100, 1) == 65.0
    assert set(data) == {"id", "status", "status_reason", "total", "sent", "failed", "bounced", "unknown", "skipped",
                         "pending", "percent", "rate", "eta_seconds", "started_at", "finished_at",
                         "relay_down_since", "relay_retry_at", "relay_error", "auto_pause_reason",
                         "no_audience", "scheduled_at"}


def test_ledger_filters_by_status(app, admin, sending):
    bounced = _emails(app, sending, DeliveryStatus.BOUNCED)
    sent = _emails(app, sending, DeliveryStatus.SENT)
    html = _page(admin, sending, "?status=bounced")
    for email in bounced:
        assert f"<td>{email}</td>" in html
    assert not any(f"<td>{email}</td>" in html for email in sent)
    assert "550 5.1.1 no such user" in html
    assert html.count("<td>reader") == 5
    assert '<option value="bounced" selected>' in html


def test_ledger_paginates(app, admin, sending):
    first = _page(admin, sending)
    assert first.count("<td>reader") == 50 and "Page 1 of 2" in first and 'rel="next"' in first
    second = _page(admin, sending, "?page=2")
    assert second.count("<td>reader") == 10 and 'rel="prev"' in second
    assert _page(admin, sending, "?page=9").count("<td>reader") == 0
    assert _page(admin, sending, "?page=nonsense").count("<td>reader") == 50


@pytest.mark.parametrize("query", ["?status=nonsense", "?status=%00", "?status=SENT"])
def test_unknown_status_filter_is_a_400(app, admin, sending, query):
    assert admin.get(f"/staff/mailings/{sending}{query}").status_code == 400


@pytest.mark.parametrize("path", ["", "/progress", "/progress.json"])
def test_unknown_mailing_is_a_404(admin, path):
    assert admin.get(f"/staff/mailings/999999{path}").status_code == 404


def test_unknown_mailing_control_is_a_404(admin, sending):
    token = form_fields(_page(admin, sending))
    assert admin.post("/staff/mailings/999999/pause", data=token).status_code == 404


@pytest.mark.parametrize("path", ["", "/progress", "/progress.json"])
def test_anonymous_is_sent_to_login(client, sending, path):
    response = client.get(f"/staff/mailings/{sending}{path}")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_anonymous_cannot_control(app, client, sending, action):
    token = form_fields(client.get("/staff/login").get_data(as_text=True))
    response = client.post(f"/staff/mailings/{sending}/{action}", data=token)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert _status(app, sending) == "sending"


# -- pause, resume, cancel -------------------------------------------------------------------


def test_admin_pauses_and_resumes_and_the_senders_finish(app, admin, sending, run_tasks, outbox):
    response = _post(admin, sending, "pause")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/mailings/{sending}")
    assert _status(app, sending) == "paused"
    html = _page(admin, sending)
    assert "Sending is paused." in html
    assert ">Resume<" in html and "Pause<" not in html and "hx-trigger" not in html

    response = _post(admin, sending, "resume")
    assert response.status_code == 303
    assert _status(app, sending) == "sending"
    assert "Sending has resumed." in _page(admin, sending)
    assert run_tasks() >= app.config["SEND_CONCURRENCY"]  # the woken send_mailing tasks
    assert _status(app, sending) == "sent"
    # The 21 rows still open were sent; the ones already done were not sent again.
    assert len(outbox.sent) == 21
    with app.app_context():
        progress = mailing_progress(sending)
    assert progress["pending"] == 0 and progress["sent"] == 51 and progress["percent"] == 100.0


def test_automatic_pause_shows_its_reason(app, admin, sending):
    with app.app_context():
        states.pause(sending, REASON)
    html = _page(admin, sending)
    assert REASON in html and "Paused" in html and ">Resume<" in html
    assert "hx-trigger" not in html
    assert admin.get(f"/staff/mailings/{sending}/progress.json").get_json()["status_reason"] == REASON


def test_admin_cancels(app, admin, sending):
    response = _post(admin, sending, "cancel")
    assert response.status_code == 303
    assert _status(app, sending) == "cancelled"
    html = _page(admin, sending)
    assert "The mailing is cancelled." in html
    assert "hx-trigger" not in html and "Cancel sending" not in html


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_editor_may_watch_but_not_control(app, editor, sending, run_tasks, action):
    if action == "resume":
        with app.app_context():
            states.pause(sending)
    before = _status(app, sending)
    html = _page(editor, sending)
    assert "<progress" in html and "Pause<" not in html and "Cancel sending" not in html
    assert _post(editor, sending, action).status_code == 403
    assert _status(app, sending) == before
    assert run_tasks() == 0


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_control_needs_the_csrf_token(app, admin, sending, action):
    if action == "resume":
        with app.app_context():
            states.pause(sending)
    before = _status(app, sending)
    assert _post(admin, sending, action, with_token=False).status_code == 400
    assert _status(app, sending) == before


def test_invalid_transition_flashes_and_redirects(app, admin, sending, run_tasks):
    response = _post(admin, sending, "resume")  # it is sending, not paused
    assert response.status_code == 303
    assert _status(app, sending) == "sending"
    assert run_tasks() == 0
    assert "Only a paused mailing can be resumed." in _page(admin, sending)

    _finish(app, sending)
    for action, message in (("pause", "Only a mailing that is sending can be paused."),
                            ("cancel", "cannot be cancelled")):
        response = _post(admin, sending, action)
        assert response.status_code == 303
        assert message in admin.get(response.headers["Location"]).get_data(as_text=True)
        assert _status(app, sending) == "sent"


def test_a_draft_can_be_cancelled_but_not_paused(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter", status=MailingStatus.DRAFT)
    html = _page(admin, mailing_id)
    assert "Cancel sending" in html and "Pause<" not in html and "No recipients to show." in html
    assert _post(admin, mailing_id, "pause").status_code == 303
    assert _status(app, mailing_id) == "draft"
    assert _post(admin, mailing_id, "cancel").status_code == 303
    assert _status(app, mailing_id) == "cancelled"


def test_unknown_messages_have_a_reason_and_an_admin_resends_them_once_sent(app, admin, sending, run_tasks, outbox):
    html = _page(admin, sending)
    assert "may or may not have arrived" in html and "Resend the unknown messages" in html
    assert _post(admin, sending, "resend-unknown", with_token=False).status_code == 400
    assert _emails(app, sending, DeliveryStatus.UNKNOWN) == ["reader37@example.org"]
    _finish(app, sending)
    html = _page(admin, sending)
    assert "Sent with 2 failed, 1 unknown, 5 bounced" in html  # a run with failures never says plainly "sent"
    response = _post(admin, sending, "resend-unknown")
    assert response.status_code == 303
    assert "1 unknown message will be sent again." in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(app, sending) == "sending"
    assert _emails(app, sending, DeliveryStatus.UNKNOWN) == []


def test_an_editor_cannot_resend_unknown_messages(app, editor, sending):
    assert "Resend the unknown messages" not in _page(editor, sending)
    assert _post(editor, sending, "resend-unknown").status_code == 403
    assert _emails(app, sending, DeliveryStatus.UNKNOWN) == ["reader37@example.org"]
