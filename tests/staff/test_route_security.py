"""Crawl the URL map: every staff route needs login, and every state-changing staff route needs CSRF."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

from tests.helpers import csrf_token

# Reachable without logging in, on purpose. Everything else must refuse an anonymous visitor.
PUBLIC_BLUEPRINTS = {"public", "events", "archive", "health", "embed", "site_icon"}  # embed: origin and form token instead
PUBLIC_ENDPOINTS = {"static", "staff.login", "webhooks.bounces",  # the webhook is HMAC-signed instead
                    "api-docs.openapi_json"}  # the API description; the API itself needs a bearer key
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".", 1)[0] in PUBLIC_BLUEPRINTS


def _url(app, rule) -> str:
    values = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if not _is_public(rule.endpoint)]


def test_the_crawl_finds_the_staff_routes(app):
    endpoints = {rule.endpoint for rule in staff_rules(app)}
    assert {"staff.outbox", "staff.logout", "staff_sending.mailing", "staff_sending.pause"} <= endpoints


def test_no_staff_route_is_reachable_anonymously(app):
    client = app.test_client()
    reachable = []
    for rule in staff_rules(app):
        url = _url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            redirected_to_login = response.status_code == 302 and "/staff/login" in response.headers["Location"]
            if not (redirected_to_login or response.status_code in (400, 401, 403)):
                reachable.append(f"{method} {url} -> {response.status_code}")
    assert reachable == []


def test_every_state_changing_staff_route_refuses_a_missing_csrf_token(app, admin):
    accepted = []
    for rule in staff_rules(app):
        for method in sorted(rule.methods & STATE_CHANGING):
            response = admin.open(_url(app, rule), method=method, data={"anything": "1"})
            # 400 is the CSRF refusal; 404 would mean the crawl did not reach the check, so it fails too.
            # The JSON API takes no cookie at all: a logged-in admin's session gets 401 there, not CSRF.
            expected = 401 if rule.rule.startswith("/api/") else 400
            if response.status_code != expected:
                accepted.append(f"{method} {rule.rule} -> {response.status_code}")
    assert accepted == []


ADMIN_ONLY_BLUEPRINTS = {"staff_subscribers", "staff_team", "staff_templates", "staff_embed",
                         "staff_webhooks"}
ADMIN_ONLY_ENDPOINTS = {
    "staff_mailings.schedule", "staff_mailings.send_now", "staff_mailings.unschedule",
    "staff_sending.pause", "staff_sending.resume", "staff_sending.cancel", "staff_digest.send_now",
    "staff.outbox", "staff.outbox_message",  # the mails hold live personal links
    "staff_api_keys.index", "staff_api_keys.create", "staff_api_keys.revoke",
}


def test_an_editor_gets_403_on_every_admin_action(app, editor):
    from tests.factories import create_mailing

    with app.app_context():
        create_mailing("newsletter")  # id 1, so routes that load it get past their 404
    token = csrf_token(editor)
    allowed = []
    checked = 0
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".", 1)[0]
        if blueprint not in ADMIN_ONLY_BLUEPRINTS and rule.endpoint not in ADMIN_ONLY_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = editor.open(_url(app, rule), method=method, data={"csrf_token": token})
            checked += 1
            if response.status_code != 403:
                allowed.append(f"{method} {rule.rule} -> {response.status_code}")
    assert checked >= 12
    assert allowed == []
