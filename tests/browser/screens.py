"""Screenshots of browser tests go to test-artifacts/screenshots/, for a person to look at."""
from __future__ import annotations

from tests.services import REPO

SHOTS = REPO / "test-artifacts" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
