"""An admin makes an API key and reads the API reference, drawn by the vendored Swagger UI under the strict CSP."""
from __future__ import annotations

from tests.browser.accessibility import serious_violations
from tests.browser.screens import shot


def _login(page, base):
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for


def test_admin_makes_a_key_and_reads_the_reference_on_a_phone(browser, live_server):
    base, _ = live_server
    page = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-GB")
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    _login(page, base)

    page.goto(base + "/staff/api/keys")
    page.fill("#name", "Ticket shop")
    page.check("input[name=scope][value=read_write]")
    page.click("main form:last-of-type button[type=submit]")
    secret = page.input_value("#new-key")
    assert secret.startswith("mk_")
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "api-01-new-key")

    page.goto(base + "/staff/api/reference")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    assert "/api/v1/subscribers" in page.inner_text("#api-reference")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert refused == []
    assert serious_violations(page) == []
    shot(page, "api-02-reference")
