"""Signed links: one purpose each, expiry for confirm links, rotation and revocation."""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import ConsentChannel, Subscriber
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import revoke_tokens
from mailer.tokens import InvalidToken, TokenPurpose, make_token, read_token

PURPOSE_PATHS = {TokenPurpose.CONFIRM: "/confirm/", TokenPurpose.UNSUBSCRIBE: "/unsubscribe/", TokenPurpose.MANAGE: "/manage/"}


@pytest.fixture
def subscriber_id(app):
    with app.app_context():
        subscriber = Subscriber(email="token@example.org", language="en")
        db.session.add(subscriber)
        db.session.commit()
        return subscriber.id


def _token(app, subscriber_id, purpose):
    with app.app_context():
        return make_token(purpose, db.session.get(Subscriber, subscriber_id))


@pytest.mark.parametrize("made_for", list(PURPOSE_PATHS))
@pytest.mark.parametrize("used_for", list(PURPOSE_PATHS))
def test_a_token_only_works_for_its_own_purpose(app, client, subscriber_id, made_for, used_for):
    token = _token(app, subscriber_id, made_for)
    response = client.get(PURPOSE_PATHS[used_for] + token)
    if made_for == used_for:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "This link does not work" in response.get_data(as_text=True)


def test_tokens_carry_no_address_or_row_id(app, subscriber_id):
    import base64

    token = _token(app, subscriber_id, TokenPurpose.UNSUBSCRIBE)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b"token@example.org" not in payload
    assert f'"{subscriber_id}"'.encode() not in payload and f"[{subscriber_id},".encode() not in payload


def test_expired_confirm_token_is_refused_with_a_new_link_offer(app, client, subscriber_id, monkeypatch):
    token = _token(app, subscriber_id, TokenPurpose.CONFIRM)
    import itsdangerous.timed

    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 8 * 24 * 3600)
    response = client.get("/confirm/" + token, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The link has expired." in page
    assert 'action="/new-link"' in page


def test_unsubscribe_token_does_not_expire(app, client, subscriber_id, monkeypatch):
    token = _token(app, subscriber_id, TokenPurpose.UNSUBSCRIBE)
    import itsdangerous.timed

    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 10 * 365 * 24 * 3600)
    assert client.get("/unsubscribe/" + token).status_code == 200


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), lambda t: "x" + t, lambda t: t.split(".")[0], lambda t: "garbage"])
def test_tampered_tokens_are_refused(app, client, subscriber_id, tamper):
    token = _token(app, subscriber_id, TokenPurpose.MANAGE)
    assert client.get("/manage/" + tamper(token)).status_code == 400


def test_token_signed_with_old_key_verifies_after_rotation(app, subscriber_id):
    app.config["SECRET_KEYS"] = ["old-key"]
    token = _token(app, subscriber_id, TokenPurpose.UNSUBSCRIBE)
    app.config["SECRET_KEYS"] = ["new-key", "old-key"]
    with app.app_context():
        assert read_token(TokenPurpose.UNSUBSCRIBE, token).subscriber.id == subscriber_id
    app.config["SECRET_KEYS"] = ["new-key"]
    with app.app_context(), pytest.raises(InvalidToken):
        read_token(TokenPurpose.UNSUBSCRIBE, token)


def test_revoking_kills_unsubscribe_and_manage_links(app, client, subscriber_id):
    unsubscribe = _token(app, subscriber_id, TokenPurpose.UNSUBSCRIBE)
    manage = _token(app, subscriber_id, TokenPurpose.MANAGE)
    with app.app_context():
        revoke_tokens(db.session.get(Subscriber, subscriber_id), Origin(ConsentChannel.STAFF))
        db.session.commit()
    for path in ("/unsubscribe/" + unsubscribe, "/manage/" + manage):
        response = client.get(path, headers={"Accept-Language": "en"})
        assert response.status_code == 400
        assert "no longer valid" in response.get_data(as_text=True)
    one_click = app.test_client(use_cookies=False).post(
        "/one-click/" + unsubscribe, data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 400
    assert _token(app, subscriber_id, TokenPurpose.MANAGE) != manage


@pytest.mark.parametrize("purpose", [TokenPurpose.UNSUBSCRIBE, TokenPurpose.MANAGE])
@pytest.mark.parametrize("topic_ids", [None, (3,), (2, 1, 7)])
def test_fast_signer_writes_exactly_what_itsdangerous_writes(app, subscriber_id, purpose, topic_ids):
    from mailer.tokens import TokenSigner, _fingerprint, _serializer

    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        token = TokenSigner(purpose).sign(subscriber.public_id, subscriber.token_secret, topic_ids)
        payload = [subscriber.public_id, _fingerprint(subscriber.token_secret)]
        if topic_ids:
            payload.append(sorted(topic_ids))
        assert token == _serializer(purpose).dumps(payload)
        claim = read_token(purpose, token)
        assert claim.subscriber.id == subscriber_id
