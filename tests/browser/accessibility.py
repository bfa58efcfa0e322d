"""axe-core (vendored from npm in tests/browser/vendor/) injected into a Playwright page.

`serious_violations(page)` runs axe on the page as loaded and returns the serious and
critical violations as short readable strings, so an assertion failure names the rule and the nodes.
"""
from __future__ import annotations

from pathlib import Path

AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def violations(page) -> list[dict]:
    """Every axe violation on the page (WCAG 2.x A and AA rules plus best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: a <script> tag would be refused by the strict CSP,
        # and the pages are tested with the CSP they ship with.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def serious_violations(page) -> list[str]:
    """The serious and critical violations, one line each: rule, impact, first offending nodes."""
    found = []
    for violation in violations(page):
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}): {targets}")
    return found
