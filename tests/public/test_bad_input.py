"""Bad input on every public form and endpoint: a clear 4xx in the visitor's language, never a 500."""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import Subscriber, SubscriberStatus
from mailer.tokens import TokenPurpose
from tests.helpers import form_fields
from tests.factories import create_subscriber_tokens

HUGE = "x" * (200 * 1024)
NOT_UTF8 = b"\xff\xfe\xc3\x28"


@pytest.fixture
def tokens(app):
    """Tokens of a confirmed subscriber of the newsletter."""
    with app.app_context():
        return create_subscriber_tokens("bad-input@example.org", confirmed=True, language="en")


def _form_page(client, path: str) -> dict[str, str]:
    return form_fields(client.get(path).get_data(as_text=True))


SUBSCRIBE_CASES = {
    "invalid address": {"email": "not-an-address"},
    "overlong address": {"email": "a" * 250 + "@example.org"},
    "address with CR LF": {"email": "a@example.org\r\nBcc: victim@example.org"},
    "address with NUL": {"email": "a\x00@example.org"},
    "non-ASCII local part": {"email": "søren@example.dk"},
    "name with CR LF": {"name": "Eve\r\nBcc: victim@example.org"},
    "name with LF": {"name": "Eve\nX-Injected: 1"},
    "overlong name": {"name": "n" * 101},
    "unknown topic id": {"topics": ["999999"]},
    "topic id not a number": {"topics": ["abc"]},
    "unknown language": {"language": "xx"},
    "no topics": {"topics": []},
    "empty form": {"email": "", "topics": [], "language": ""},
}


def _subscribe_data(client, **override):
    data = {**_form_page(client, "/subscribe"), "email": "ok@example.org", "name": "", "language": "en", "topics": ["1"]}
    data.update(override)
    return data


@pytest.mark.parametrize("language", ["en", "da"])
@pytest.mark.parametrize("case", sorted(SUBSCRIBE_CASES))
def test_subscribe_form_refuses_bad_fields_with_a_translated_400(app, client, case, language):
    from tests.helpers import topic_ids

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    data = _subscribe_data(client, topics=[str(topic_ids(app, "newsletter")[0])])
    data.update(SUBSCRIBE_CASES[case])
    response = client.post("/subscribe", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    expected = "Please correct the fields marked below." if language == "en" else "Ret de markerede felter nedenfor."
    assert expected in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 0


def test_no_header_injection_reaches_storage(app, client):
    client.post("/subscribe", data=_subscribe_data(client, name="Eve\r\nBcc: x@example.org"))
    with app.app_context():
        assert db.session.scalar(db.select(Subscriber)) is None


def _post_cases(tokens):
    """(description, path, body, content_type) for every public state-changing endpoint."""
    confirm = "/confirm/" + tokens[TokenPurpose.CONFIRM]
    manage = "/manage/" + tokens[TokenPurpose.MANAGE]
    unsubscribe = "/unsubscribe/" + tokens[TokenPurpose.UNSUBSCRIBE]
    one_click = "/one-click/" + tokens[TokenPurpose.UNSUBSCRIBE]
    form = "application/x-www-form-urlencoded"
    cases = []
    for path in ("/subscribe", "/new-link", confirm, manage, unsubscribe, "/staff/login"):
        cases += [
            (f"{path} without CSRF token", path, "email=a%40example.org&name=x&topics=1&language=en&scope=all", form),
            (f"{path} huge body", path, "name=" + HUGE, form),
            (f"{path} non-UTF-8 bytes", path, b"email=" + NOT_UTF8 + b"&name=" + NOT_UTF8, form),
            (f"{path} multipart garbage", path, b"--x\r\n\r\n" + NOT_UTF8, "multipart/form-data; boundary=x"),
        ]
    cases += [
        ("one-click without the RFC 8058 body", one_click, "", form),
        ("one-click with a wrong value", one_click, "List-Unsubscribe=Yes", form),
        ("one-click huge body", one_click, "List-Unsubscribe=One-Click&x=" + HUGE, form),
        ("one-click non-UTF-8", one_click, b"List-Unsubscribe=" + NOT_UTF8, form),
        ("one-click tampered token", one_click[:-3] + "abc", "List-Unsubscribe=One-Click", form),
        ("one-click cross-purpose token", "/one-click/" + tokens[TokenPurpose.MANAGE], "List-Unsubscribe=One-Click", form),
        ("confirm with tampered token", confirm + "x", "", form),
        ("manage with a NUL in the token", "/manage/a%00b", "", form),
        ("unsubscribe with non-UTF-8 token", "/unsubscribe/%FF%FE", "", form),
    ]
    return cases


def test_every_public_post_endpoint_answers_4xx_never_500(app, tokens):
    failures = []
    for language in ("en", "da"):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        for description, path, body, content_type in _post_cases(tokens):
            response = client.post(path, data=body, content_type=content_type)
            page = response.get_data(as_text=True)
            if not 400 <= response.status_code < 500:
                failures.append(f"{description}: {response.status_code}")
            elif f'lang="{language}"' not in page:
                failures.append(f"{description}: page not in {language}")
    assert failures == []


@pytest.mark.parametrize(
    "path",
    ["/confirm/", "/confirm/%FF", "/manage/..%2F..%2Fetc", "/unsubscribe/" + "A" * 5000, "/one-click/%00", "/nowhere", "/subscribe?lang=%FF"],
)
def test_bad_get_requests_answer_4xx_or_a_page(client, path):
    response = client.get(path)
    assert response.status_code in (200, 400, 404)


def test_unsubscribe_scope_outside_the_subscribers_topics_is_refused(app, client, tokens):
    path = "/unsubscribe/" + tokens[TokenPurpose.UNSUBSCRIBE]
    response = client.post(path, data={**_form_page(client, path), "scope": "999999"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(Subscriber)).status == SubscriberStatus.CONFIRMED
