"""gunicorn's access log holds no link tokens, and bin/run prints no password (issue 10, item 14)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from mailer.gunicorn_logging import redact
from tests.services import REPO

TOKEN = "WyJzZWNyZXQtdG9rZW4iXQ.c2VjcmV0"
LOGGER = "mailer.gunicorn_logging.RedactingLogger"


@pytest.mark.parametrize(("line", "logged"), [
    (f"GET /manage/{TOKEN} HTTP/1.1", "GET /manage/[token] HTTP/1.1"),
    (f"POST /manage/{TOKEN}/resume HTTP/1.1", "POST /manage/[token]/resume HTTP/1.1"),
    (f"GET /%6Danage/{TOKEN}?x=1 HTTP/1.1", "GET /%6Danage/[token]?x=1 HTTP/1.1"),
    (f"https://news.example.org/unsubscribe/{TOKEN}", "https://news.example.org/unsubscribe/[token]"),
    ("GET /events/12 HTTP/1.1", "GET /events/12 HTTP/1.1"),
])
def test_redact(line, logged):
    assert redact(line) == logged


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(url: str, data: bytes | None = None) -> None:
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30).close()
    except urllib.error.HTTPError:
        pass  # an invalid link answers 400: the log line is what matters


def test_gunicorns_access_log_redacts_link_tokens(tmp_path, database_url):
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    env.update(MAILER_INSTANCE_PATH=str(tmp_path / "instance"), MAILER_DATABASE_URL=database_url,
               MAILER_SMTP_URL="memory://")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--logger-class", LOGGER, "--access-logfile", str(access_log), "wsgi:app"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        for path in (f"/confirm/{TOKEN}", f"/manage/{TOKEN}", f"/unsubscribe/{TOKEN}?x=1", f"/%6Danage/{TOKEN}"):
            _fetch(base + path)
        _fetch(base + f"/one-click/{TOKEN}", data=b"List-Unsubscribe=One-Click")
        deadline = time.monotonic() + 10
        while access_log.read_text().count("\n") < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()
    log = access_log.read_text()
    assert TOKEN not in log
    assert log.count("[token]") == 5
    assert "GET /healthz" in log


def _gunicorn_commands() -> list[str]:
    compose = (REPO / "docker-compose.yml").read_text()
    web = compose.split("\n  web:", 1)[1].split("\n  proxy:", 1)[0]
    dockerfile = [line for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("CMD")]
    run = re.findall(r'"\$VENV/bin/gunicorn"[^&]*&', (REPO / "bin" / "run").read_text())
    return [web, *dockerfile, *run]


def test_every_gunicorn_command_uses_the_redacting_logger():
    commands = _gunicorn_commands()
    assert len(commands) == 3
    for command in commands:
        assert LOGGER in command, command


def test_bin_run_prints_where_the_password_is_not_the_password():
    script = (REPO / "bin" / "run").read_text()
    message = script.split("<<MSG", 1)[1].split("\nMSG", 1)[0]
    assert "$password_file" in message
    assert not re.search(r"cat\s+\"?\$password_file", message)
