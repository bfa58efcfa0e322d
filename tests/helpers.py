"""Small helpers the tests share: filling in forms, logging in, reading mails and asking the database."""
from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
STARTED_RE = re.compile(r'id="started" name="started" type="hidden" value="([^"]+)"')
# The number of recipients the sending buttons name, sent back to be checked (mailings/audience_summary.py).
EXPECTED_RE = re.compile(r'type="hidden" name="expected_recipients" value="([^"]*)"')


def form_fields(html: str) -> dict[str, str]:
    """Pull the hidden fields a browser would send back out of a page."""
    fields = {}
    if match := CSRF_RE.search(html):
        fields["csrf_token"] = match.group(1)
    if match := STARTED_RE.search(html):
        fields["started"] = match.group(1)
    if match := EXPECTED_RE.search(html):
        fields["expected_recipients"] = match.group(1)
    return fields


STAFF_PASSWORD = "correct horse battery"
ADMIN_EMAIL = "admin@example.org"
EDITOR_EMAIL = "editor@example.org"


def login(client, email: str, password: str = STAFF_PASSWORD):
    """Log in through the real login form; return the response."""
    page = client.get("/staff/login")
    return client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)), "email": email, "password": password})


def csrf_token(client) -> str:
    """The session's CSRF token, taken from a page every logged-in member of staff can see."""
    page = client.get("/staff/mailings/")
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))["csrf_token"]


# Markup that must never reach a page or a mail as markup.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
LINK_RE = re.compile(r"https://news\.example\.org/[\w/.-]+")


def parse_mail(data: bytes) -> EmailMessage:
    """Parse a sent mail exactly as a strict client would, failing on any defect."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert not message.defects, message.defects
    for part in message.walk():
        assert not part.defects, part.defects
    return message


def mail_text(data: bytes) -> str:
    return parse_mail(data).get_body(("plain",)).get_content()


def link_in(data: bytes, path_prefix: str) -> str:
    """Return the first link in the text part whose path starts with path_prefix."""
    for link in LINK_RE.findall(mail_text(data)):
        if link.split("news.example.org", 1)[1].startswith(path_prefix):
            return link
    raise AssertionError(f"no {path_prefix} link in mail")


def path_of(link: str) -> str:
    return link.split("news.example.org", 1)[1]


def topic_ids(app, *slugs: str) -> list[int]:
    from mailer.extensions import db
    from mailer.models import Topic

    with app.app_context():
        ids = {t.slug: t.id for t in db.session.scalars(db.select(Topic))}
    return [ids[s] for s in slugs]


def subscribe(client, email: str, topics: list[int], *, name: str = "", language: str = "da", **extra):
    """Fill in and submit the signup form as a browser would."""
    page = client.get("/subscribe")
    data = {**form_fields(page.get_data(as_text=True)), "email": email, "name": name, "language": language}
    data["topics"] = [str(t) for t in topics]
    data.update(extra)
    return client.post("/subscribe", data=data)


def post_form(client, path: str, **data):
    """GET a page, then POST its form back with the given fields."""
    page = client.get(path)
    return client.post(path, data={**form_fields(page.get_data(as_text=True)), **data})


def topic_id(slug: str = "events-aarhus") -> int:
    """A topic's id by its slug. Call inside an app context."""
    from mailer.extensions import db
    from mailer.models import Topic

    return db.session.scalar(db.select(Topic.id).filter_by(slug=slug))


def send_in_process(mailing_id: int) -> int:
    """Start a due mailing and send it all on this process, as one worker would."""
    from mailer.mailings import states
    from mailer.models import MailingStatus
    from mailer.sending.engine import SendingRun
    from mailer.sending.run_setup import build_sender, engine_settings

    assert states.start(mailing_id), states.status_of(mailing_id)
    sent = SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()
    assert states.status_of(mailing_id) == MailingStatus.SENT
    return sent


def status_of(mailing_id: int) -> str:
    from mailer.extensions import db
    from mailer.models import Mailing

    return db.session.scalar(db.select(Mailing.status).where(Mailing.id == mailing_id))


def digest_rows(mailing_id: int) -> dict[str, str]:
    """The digest's ledger: each recipient's address and delivery status."""
    from mailer.extensions import db
    from mailer.models import Delivery, Subscriber

    return dict(db.session.execute(
        db.select(Subscriber.email, Delivery.status).join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.mailing_id == mailing_id)).all())
