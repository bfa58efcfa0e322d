"""Property-based fuzz of every route in the URL map, as an anonymous visitor, an editor and an admin.

Issue 10, item 12: whatever the path arguments, query parameters and form fields, the answer is
never a 5xx and nothing is logged with a traceback. A fixed number of examples per route keeps the
run bounded; in CI the examples are derandomized, so a failure there reproduces anywhere.
"""
from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import Form

from tests.helpers import ADMIN_EMAIL, EDITOR_EMAIL, csrf_token, login
from tests.services import IN_CI
from tests.factories import create_mailing, create_subscriber_tokens

EXAMPLES_PER_ROUTE = 6
BIGINT = 2**63 - 1
INTEGER = 2**31 - 1  # PostgreSQL's INTEGER, the id columns
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Routes whose success ends the session under test; fuzzing them would leave the rest anonymous.
SKIPPED = {"staff.logout", "static"}
QUERY_NAMES = ["page", "topic", "event", "subscriber", "q", "status", "language", "lang", "kind", "id"]

IDS = st.one_of(
    st.sampled_from([0, 1, 2, 3, -1, INTEGER, INTEGER + 1, BIGINT, BIGINT + 1, 10**20, 10**400]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
TEXTS = st.one_of(
    st.sampled_from([
        "", " ", "0", "1", "-1", str(INTEGER + 1), str(BIGINT), str(BIGINT + 1), "9" * 30, "1_000", "abc", "all", "da", "en", "xx",
        "0001-01-01T00:00", "9999-12-31T23:59", "2026-03-29T02:30", "2026-10-25T02:30", "0001-01-01 00:00–01:00 x",
        "a@example.org", "victim@ｒl.example", "One-Click", "true", "on", "weekly", "\x00", "\r\nBcc: x@example.org",
        "{{ 7*7 }}", "{% for i in range(10) %}x{% endfor %}", "<script>alert(1)</script>", "\ue000manage_url\ue001",
        "%s%n", "../../etc/passwd", "x" * 5000, "x" * (70 * 1024),
    ]),
    st.text(max_size=40),
    IDS.map(str),
)
PATH_TEXTS = st.one_of(st.sampled_from(["x", "a" * 300 + ".eml", "..", "%00", "x.eml", "A" * 5000]),
                       st.text(min_size=1, max_size=40))


def _form_field_names() -> list[str]:
    """Every field name of every form in the app, so the fuzz reaches the validators, not only CSRF."""
    names: set[str] = set()
    pending = list(Form.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        if form.__module__.startswith("mailer."):
            names.update(name for name, _ in getattr(form, "_unbound_fields", None) or [])
            names.update(name for name in vars(form) if not name.startswith("_") and hasattr(vars(form)[name], "field_class"))
    names.discard("csrf_token")
    return sorted(names)


def _path(rule, values: dict) -> str:
    def fill(match: re.Match) -> str:
        return quote(str(values[match.group(2)]), safe="")

    return ARGUMENT.sub(fill, rule.rule)


def _argument_strategy(rule) -> st.SearchStrategy[dict]:
    arguments = {}
    for converter, name in ARGUMENT.findall(rule.rule):
        arguments[name] = IDS if converter == "int" else PATH_TEXTS
    return st.fixed_dictionaries(arguments)


def _client_for(role: str, app, client, staff):
    if role != "anonymous":
        assert login(client, ADMIN_EMAIL if role == "admin" else EDITOR_EMAIL).status_code == 302
    return client


@pytest.mark.parametrize("role", ["anonymous", "editor", "admin"])
def test_no_route_answers_5xx_or_logs_a_traceback(app, client, staff, role, caplog):
    with app.app_context():
        create_subscriber_tokens("fuzz@example.org", confirmed=True, language="da")
        create_mailing("newsletter")
    client = _client_for(role, app, client, staff)
    token = csrf_token(client) if role != "anonymous" else None
    field_names = _form_field_names()
    bodies = st.dictionaries(st.sampled_from(field_names), TEXTS, max_size=6)
    queries = st.dictionaries(st.sampled_from(QUERY_NAMES), TEXTS, max_size=3)
    failures: list[str] = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED]

    for rule in rules:
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})

        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=IN_CI, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(arguments=_argument_strategy(rule), method=st.sampled_from(methods), query=queries, body=bodies,
               with_csrf=st.booleans(), with_file=st.booleans())
        def request_once(arguments, method, query, body, with_csrf, with_file):
            path = _path(rule, arguments)
            if method == "GET":
                response = client.get(path, query_string=query)
            else:
                data: dict = dict(body)
                if with_csrf and token:
                    data["csrf_token"] = token
                if with_file:
                    data["file"] = (io.BytesIO(body.get("name", "email\na@example.org").encode()), "fuzz.csv")
                response = client.post(path, query_string=query, data=data)
            if response.status_code >= 500:
                failures.append(f"{role} {method} {path}?{query} {sorted(body)}: {response.status_code}")

        request_once()

    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert failures == []
    assert tracebacks == []
