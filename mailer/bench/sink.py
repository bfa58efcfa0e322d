"""Postfix's smtp-sink as the receiving end, and smtp-source as the reference sender.

Counting: `smtp-sink -c` writes "sess=S quit=Q mesg=M" to stdout, terminated by CR, every time
an SMTP session ends, QUIT is executed or a final "." is received (and answered 250: the sink
rejects nothing unless told to). It flushes each record at once, so a thread reading the pipe
sees every acceptance within milliseconds and can time the first and the N-th. M is the
sink's own count of accepted messages; that is the figure the benchmark reports as received.

`-D file` (verify mode) also appends every message to one dump file, each prefixed with a
marker and the sink's X-Rcpt-Args record, so recipients can be counted one by one and the
messages parsed back. Dumping costs disk time, so timed runs do not use it.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from mailer.bench.workers import stop_process, wait_for

_MESG = re.compile(rb"mesg=(\d+)")
DUMP_MARKER = b"\x01MAILERBENCH\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool_path(name: str) -> str | None:
    """Where a Postfix test tool is; Debian puts them in /usr/sbin, which users' PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def require_postfix_tools() -> None:
    missing = [tool for tool in ("smtp-sink", "smtp-source") if not tool_path(tool)]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: install Debian's postfix package "
                         "(see docs/PERFORMANCE.md)")


class Sink:
    """One smtp-sink process on a free loopback port, with a live count of accepted messages."""

    def __init__(self, dump: Path | None = None) -> None:
        self.port = free_port()
        self.dump = dump
        command = [tool_path("smtp-sink") or "smtp-sink", "-c"]
        if dump is not None:
            command += ["-D", str(dump), "-S", "\\001MAILERBENCH\\n"]
        if os.geteuid() == 0:
            command += ["-u", "root"]  # required as root; the sink drops to this user
        command += [f"127.0.0.1:{self.port}", "1000"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.count = 0
        self._lock = threading.Condition()
        self._marks: list[tuple[int, float]] = []  # (count, monotonic time) watched for
        self._times: dict[int, float] = {}
        self._reader = threading.Thread(target=self._read, name="smtp-sink-reader", daemon=True)
        self._reader.start()
        self._wait_listening()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _wait_listening(self, timeout: float = 10.0) -> None:
        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"QUIT\r\n")
                s.recv(1024)
            return True
        wait_for(self.process, listening, "smtp-sink", timeout=timeout, pause=0.05)

    def _read(self) -> None:
        stream = self.process.stdout
        tail = b""
        while True:
            chunk = stream.read1(65536)
            if not chunk:
                return
            now = time.monotonic()
            records = (tail + chunk).split(b"\r")
            tail = records.pop()
            for record in reversed(records):
                if match := _MESG.search(record):
                    count = int(match.group(1))
                    break
            else:
                continue
            with self._lock:
                if count > self.count:
                    self.count = count
                    for mark, _ in self._marks:
                        if count >= mark and mark not in self._times:
                            self._times[mark] = now
                    self._lock.notify_all()

    def watch(self, count: int) -> None:
        """Record the time when the sink's count first reaches `count`."""
        with self._lock:
            self._marks.append((count, 0.0))
            if self.count >= count:
                self._times[count] = time.monotonic()

    def time_of(self, count: int) -> float | None:
        with self._lock:
            return self._times.get(count)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def stop(self) -> None:
        stop_process(self.process, 5)


def measure_smtp_source(sink: Sink, messages: int = 20_000) -> float:
    """The C reference: smtp-source, 16 KB messages over 4 reused connections. Return msg/s."""
    before = sink.count
    command = [tool_path("smtp-source") or "smtp-source", "-d", "-s", "4", "-m", str(messages), "-l", "16000",
               "-f", "a@example.org", "-t", "b@example.org", f"127.0.0.1:{sink.port}"]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    if not sink.wait_for(before + messages, 10):
        raise RuntimeError(f"smtp-sink counted {sink.count - before} of {messages} smtp-source messages")
    return messages / elapsed


def read_dump(dump: Path, parse_limit: int) -> dict:
    """Count recipients in a -D dump; parse up to parse_limit messages back and collect defects."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    recipients: Counter[str] = Counter()
    parsed = defects = mismatched = no_unsubscribe = signed = 0
    data = dump.read_bytes() if dump.exists() else b""
    for entry in data.split(DUMP_MARKER):
        if not entry:
            continue
        head, _, message = entry.partition(b"\n\tby smtp-sink")
        rcpt = re.search(rb"^X-Rcpt-Args: <([^>]*)>", head, re.M)
        address = rcpt.group(1).decode() if rcpt else "?"
        recipients[address] += 1
        if parsed < parse_limit:
            message = message.split(b"\n", 2)[2]  # skip the rest of the sink's Received: header
            mail = parser.parsebytes(message)
            parsed += 1
            found = list(mail.defects) + [d for part in mail.walk() for d in part.defects]
            defects += bool(found)
            mismatched += address not in str(mail["To"])
            no_unsubscribe += not (mail["List-Unsubscribe"] and mail["List-Unsubscribe-Post"])
            signed += mail["DKIM-Signature"] is not None
    return {
        "messages": sum(recipients.values()),
        "unique_recipients": len(recipients),
        "duplicates": sum(n - 1 for n in recipients.values() if n > 1),
        "parsed": parsed,
        "with_defects": defects,
        "to_mismatch": mismatched,
        "without_list_unsubscribe": no_unsubscribe,
        "dkim_signed": signed,
    }
