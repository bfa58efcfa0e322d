"""No enumeration, one opt-in mail an hour per address, and signup rate limits."""
from __future__ import annotations

from datetime import timedelta

from tests.helpers import form_fields, link_in, path_of, post_form, subscribe, topic_ids


def _confirmed(app, client, outbox, run_tasks, email):
    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(client, email, [newsletter])
    run_tasks()
    post_form(client, path_of(link_in(outbox.sent[-1][2], "/confirm/")))
    run_tasks()


def test_new_pending_and_confirmed_addresses_get_the_same_answer(app, client, outbox, run_tasks, clock):
    _confirmed(app, client, outbox, run_tasks, "confirmed@example.org")
    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(client, "pending@example.org", [newsletter])
    run_tasks()
    clock.advance(timedelta(hours=2))
    sent_before = len(outbox.sent)

    answers = []
    for email in ("new@example.org", "pending@example.org", "confirmed@example.org"):
        response = subscribe(client, email, [newsletter])
        answers.append((response.status_code, response.headers.get("Location"), response.get_data()))
        answers_page = client.get(response.headers["Location"])
        assert answers_page.status_code == 200
    assert answers[0] == answers[1] == answers[2]
    run_tasks()
    recipients = [recipient for _, recipient, _ in outbox.sent[sent_before:]]
    # The new and the pending address get an opt-in mail; the confirmed one gets nothing that would reveal it.
    assert sorted(recipients) == ["new@example.org", "pending@example.org"]


def test_at_most_one_opt_in_mail_per_address_per_hour(app, client, outbox, run_tasks, clock):
    (newsletter,) = topic_ids(app, "newsletter")
    for _ in range(3):
        assert subscribe(client, "again@example.org", [newsletter]).status_code == 303
    run_tasks()
    assert [r for _, r, _ in outbox.sent] == ["again@example.org"]

    clock.advance(timedelta(minutes=61))
    subscribe(client, "AGAIN@example.org", [newsletter])
    run_tasks()
    assert [r for _, r, _ in outbox.sent] == ["again@example.org", "again@example.org"]


def test_signup_rate_limit_per_address_answers_429_page(app, client, run_tasks):
    app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "3 per hour"
    (newsletter,) = topic_ids(app, "newsletter")
    codes = [subscribe(client, "flood@example.org", [newsletter], language="en").status_code for _ in range(4)]
    assert codes == [303, 303, 303, 429]
    response = subscribe(client, "Flood@Example.org", [newsletter], language="en")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert subscribe(client, "someone-else@example.org", [newsletter]).status_code == 303


def test_signup_rate_limit_per_ip(app, client):
    app.config["SIGNUP_LIMIT_PER_IP"] = "5 per minute"
    (newsletter,) = topic_ids(app, "newsletter")
    codes = [subscribe(client, f"person{i}@example.org", [newsletter]).status_code for i in range(6)]
    assert codes == [303] * 5 + [429]
    other_ip = client.post("/subscribe", data={}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other_ip.status_code == 400  # judged on its content, not rate-limited


def test_new_link_request_answers_the_same_for_unknown_addresses(app, client, outbox, run_tasks, clock):
    _confirmed(app, client, outbox, run_tasks, "known@example.org")
    clock.advance(timedelta(hours=2))
    sent_before = len(outbox.sent)
    page = client.get("/confirm/broken-token")
    assert page.status_code == 400 and 'action="/new-link"' in page.get_data(as_text=True)
    fields = form_fields(page.get_data(as_text=True))
    answers = [client.post("/new-link", data={**fields, "email": email}) for email in ("known@example.org", "unknown@example.org")]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    run_tasks()
    (mail,) = outbox.sent[sent_before:]
    assert mail[1] == "known@example.org"
    assert "/manage/" in link_in(mail[2], "/manage/")
