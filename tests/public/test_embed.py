"""The signup form embedded in another site: origin allow-list, form token, honeypot, limits, CORS, ledger."""
from __future__ import annotations

from html import unescape

import pytest

from mailer.extensions import db
from mailer.models import ConsentEvent, PublicRequest, Subscriber
from tests.helpers import login, mail_text, subscribe, topic_ids

SITE = "https://www.kunstogkultur.example"


@pytest.fixture
def embed_app(app):
    app.config["EMBED_ORIGINS"] = frozenset({SITE})
    return app


def fetch_token(client, origin: str = SITE) -> str:
    response = client.get("/embed/token", headers={"Origin": origin, "Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    return response.get_json()["token"]


def post_embed(client, email: str, topics: list[int], *, origin: str | None = SITE, token: str | None = None,
               json: bool = True, **extra):
    headers = {"Accept": "application/json"} if json else {"Accept": "text/html"}
    if origin is not None:
        headers["Origin"] = origin
    data = {"email": email, "language": "da", "topics": [str(t) for t in topics],
            "form_token": fetch_token(client) if token is None else token, **extra}
    return client.post("/embed/subscribe", data=data, headers=headers)


def test_a_signup_from_an_allowed_site_gets_the_opt_in_mail_and_a_ledger_entry_from_the_embed(
        embed_app, client, run_tasks, outbox):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    response = post_embed(client, "ny@example.org", [aarhus], name="Ny Læser")
    assert response.status_code == 200
    assert "tjek din indbakke" in response.get_json()["message"].lower()  # in the form's language
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    run_tasks()
    ((_, recipient, mail),) = outbox.sent
    assert recipient == "ny@example.org" and "/confirm/" in mail_text(mail)
    with embed_app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="ny@example.org"))
        (signup,) = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id,
                                                                          action="signup"))
        assert (signup.channel, signup.topic_id, subscriber.name, subscriber.language) == (
            "embed", aarhus, "Ny Læser", "da")
        assert signup.consent_version


def test_another_site_is_refused_and_gets_no_cors_header(embed_app, client, run_tasks, outbox):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    token = client.get("/embed/token", headers={"Origin": "https://evil.example"})
    assert token.status_code == 403 and "Access-Control-Allow-Origin" not in token.headers
    good_token = fetch_token(client)
    for origin in ("https://evil.example", "null", "http://www.kunstogkultur.example", None):
        response = post_embed(client, "ny@example.org", [aarhus], origin=origin, token=good_token)
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
    run_tasks()
    assert outbox.sent == []


def test_the_referer_stands_in_for_a_missing_origin(embed_app, client, run_tasks, outbox):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    response = client.post("/embed/subscribe", headers={"Referer": SITE + "/nyhedsbrev?x=1"}, data={
        "email": "ref@example.org", "language": "en", "topics": [str(aarhus)], "form_token": fetch_token(client)})
    assert response.status_code == 303
    run_tasks()
    assert [r for _, r, _ in outbox.sent] == ["ref@example.org"]


def test_without_a_valid_form_token_nothing_is_stored(embed_app, client):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    other_site_token = None
    embed_app.config["EMBED_ORIGINS"] = frozenset({SITE, "https://other.example"})
    other_site_token = fetch_token(client, "https://other.example")
    for token in ("", "forged.token", other_site_token):
        response = post_embed(client, "ny@example.org", [aarhus], token=token)
        assert response.status_code == 400
        assert "reload the page" in " ".join(response.get_json()["errors"]).lower() or \
            "genindlæs" in " ".join(response.get_json()["errors"]).lower()
    with embed_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PublicRequest)) == 0


def test_an_expired_token_asks_for_a_reload(embed_app, client):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    token = fetch_token(client)
    embed_app.config["EMBED_TOKEN_MAX_AGE"] = -1
    response = post_embed(client, "ny@example.org", [aarhus], token=token, language="en")
    assert response.status_code == 400
    assert response.get_json()["errors"] == ["This form has expired. Please reload the page and try again."]


def test_the_honeypot_and_a_too_fast_form_get_the_same_answer_and_store_nothing(embed_app, client):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    person = post_embed(client, "person@example.org", [aarhus])
    bot = post_embed(client, "bot@example.org", [aarhus], website="http://spam.example")
    embed_app.config["MIN_FORM_SECONDS"] = 60
    hasty = post_embed(client, "hasty@example.org", [aarhus])
    assert person.get_json() == bot.get_json() == hasty.get_json()
    assert person.status_code == bot.status_code == hasty.status_code == 200
    with embed_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PublicRequest)) == 1


def test_bad_input_is_told_in_the_forms_language(embed_app, client):
    response = post_embed(client, "not an address", [], language="en")
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert "Please enter a valid email address." in errors and "Please choose at least one topic." in errors
    page = post_embed(client, "not an address", [], json=False)
    assert page.status_code == 400 and "gyldig" in page.get_data(as_text=True)


def test_a_form_post_is_redirected_to_the_sites_thank_you_page_only_on_an_allowed_site(embed_app, client):
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    own = post_embed(client, "a@example.org", [aarhus], json=False, thanks_url=SITE + "/tak")
    assert (own.status_code, own.headers["Location"]) == (303, SITE + "/tak")
    elsewhere = post_embed(client, "b@example.org", [aarhus], json=False, thanks_url="https://evil.example/")
    assert elsewhere.status_code == 303 and elsewhere.headers["Location"].startswith("/subscribe/check-inbox")


def test_the_embedded_form_shares_the_address_limit_of_subscribe(embed_app, client):
    embed_app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "3 per hour"
    (aarhus,) = topic_ids(embed_app, "events-aarhus")
    assert subscribe(client, "flood@example.org", [aarhus]).status_code == 303
    assert subscribe(client, "flood@example.org", [aarhus]).status_code == 303
    assert post_embed(client, "Flood@Example.org", [aarhus]).status_code == 200
    limited = post_embed(client, "flood@example.org", [aarhus])
    assert limited.status_code == 429
    assert limited.headers["Access-Control-Allow-Origin"] == SITE  # the site's script can read the refusal
    assert subscribe(client, "flood@example.org", [aarhus]).status_code == 429


def test_the_embedded_form_is_off_until_origins_are_configured(app, client):
    assert client.get("/embed/token", headers={"Origin": SITE}).status_code == 404


def test_an_admin_gets_a_snippet_with_the_chosen_topics_language_and_thank_you(embed_app, client, staff):
    login(client, "admin@example.org")
    aarhus, newsletter = topic_ids(embed_app, "events-aarhus", "newsletter")
    page = client.get("/staff/embed/", query_string={"topics": [aarhus], "language": "en", "thanks": "redirect",
                                                    "thanks_url": SITE + "/thanks"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "snippet-code" in html
    snippet = unescape(html.split('id="snippet-code"', 1)[1].split("</textarea>", 1)[0])
    assert "https://news.example.org/embed/subscribe" in snippet and "/static/embed.js" in snippet
    assert f'value="{aarhus}"' in snippet and f'value="{newsletter}"' not in snippet
    assert "Email address" in snippet and SITE + "/thanks" in snippet
    off_site = client.get("/staff/embed/", query_string={"topics": [aarhus], "language": "en",
                                                        "thanks": "redirect", "thanks_url": "https://evil.example/"})
    assert "snippet-code" not in off_site.get_data(as_text=True)


def test_editors_cannot_open_the_snippet_page(embed_app, editor):
    assert editor.get("/staff/embed/").status_code == 403
