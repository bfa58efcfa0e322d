"""README command 1 in a fresh copy of the repository, then the journey over plain HTTP."""
from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import requests

from tests.services import REPO
from tests.smtp_server import free_port

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
STARTED = re.compile(r'name="started" type="hidden" value="([^"]+)"')
TOPIC = re.compile(r'name="topics" type="checkbox" value="(\d+)"')


def fresh_copy(destination: Path) -> Path:
    """Copy exactly the files a clone of this tree would have (tracked or not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture
def running_service(tmp_path):
    """Start `bin/run` with no MAILER_* settings, as a new user would; stop it afterwards."""
    clone = fresh_copy(tmp_path / "mailer")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    # Reuse this test run's virtualenv so the copy does not download everything again.
    env.update(PORT=str(port), MAILER_VENV=sys.prefix)
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(["bin/run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            if b" ready." in log_path.read_bytes():
                try:
                    if requests.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
            time.sleep(0.3)
        yield base, clone / "instance", log_path
    finally:
        process.terminate()  # bin/run's trap stops the web server and the worker it started
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_mail(outbox: Path, count: int, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = sorted(outbox.glob("*.eml"))
        if len(mails) >= count:
            return mails
        time.sleep(0.2)
    raise AssertionError(f"only {len(list(outbox.glob('*.eml')))} mails in {outbox}")


def link(mail: Path, base: str, path: str) -> str:
    text = BytesParser(policy=policy.default).parsebytes(mail.read_bytes()).get_body(("plain",)).get_content()
    match = re.search(re.escape(base + path) + r"[\w.-]+", text)
    assert match, text
    return match.group(0)


def query(instance: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(instance / "mailer.sqlite3") as connection:
        return connection.execute(sql).fetchall()


def test_command_one_runs_the_whole_journey_on_the_embedded_default(running_service):
    base, instance, log_path = running_service
    browser = requests.Session()
    page = browser.get(base + "/subscribe", headers={"Accept-Language": "da"}).text
    assert "Tilmeld" in page
    topics = TOPIC.findall(page)
    assert len(topics) >= 4
    time.sleep(2.2)  # the embedded default refuses forms sent back faster than a person could
    answer = browser.post(base + "/subscribe", allow_redirects=False, data={
        "csrf_token": CSRF.search(page).group(1), "started": STARTED.search(page).group(1),
        "email": "ida@example.org", "name": "Ida Ærø", "language": "da", "topics": topics[:2],
    })
    assert answer.status_code == 303, answer.text

    (opt_in,) = wait_for_mail(instance / "outbox", 1)
    confirm_url = link(opt_in, base, "/confirm/")
    confirm_page = browser.get(confirm_url).text
    assert query(instance, "select status from subscriber") == [("pending",)]
    assert browser.post(confirm_url, data={"csrf_token": CSRF.search(confirm_page).group(1)}).status_code == 200
    assert query(instance, "select status from subscriber") == [("confirmed",)]

    welcome = wait_for_mail(instance / "outbox", 2)[1]
    message = BytesParser(policy=policy.default).parsebytes(welcome.read_bytes())
    one_click = message["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    response = requests.post(one_click, data={"List-Unsubscribe": "One-Click"})  # no session, no cookies
    assert response.status_code == 200
    assert query(instance, "select status from subscriber") == [("unsubscribed",)]
    assert query(instance, "select action, channel from consent_event order by id") == [
        ("signup", "form"), ("signup", "form"), ("confirm", "link"), ("confirm", "link"),
        ("unsubscribe", "one-click"), ("unsubscribe", "one-click"),
    ]

    password = (instance / "demo-admin-password").read_text().strip()
    run_log = log_path.read_text()
    # Command 1 says where the password is, never the password; the access log holds no link token.
    assert password not in run_log and "demo-admin-password" in run_log
    assert confirm_url.split("/confirm/", 1)[1] not in run_log and "/confirm/[token]" in run_log
    staff = requests.Session()
    login = staff.get(base + "/staff/login").text
    assert staff.post(base + "/staff/login", data={
        "csrf_token": CSRF.search(login).group(1), "email": "admin@example.org", "password": password,
    }).status_code == 200
    outbox = staff.get(base + "/staff/outbox")
    assert outbox.status_code == 200
    assert "ida@example.org" in outbox.text
    events = requests.get(base + "/events").text  # command 1 seeds the demo events too
    assert "VEGA" in events and "Musikhuset" in events
