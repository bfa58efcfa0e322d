"""Transports against a real SMTP server (aiosmtpd on loopback), a folder and memory."""
from __future__ import annotations

import email.policy
import socket
import time
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mailer.mail.headers import HeaderInjectionError
from mailer.mail.mime import MessageBuilder
from mailer.mail.smtp import SMTPTransport, parse_smtp_url
from mailer.mail.transports import (
    MemoryTransport, OutboxTransport, PermanentSendError, TransientSendError, UncertainDeliveryError, list_outbox,
)
from mailer.mail import open_transports

SENDER = "news@example.org"
RAW = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nFrom the start\r\nend\r\n"


class RecordingHandler:
    """Store what arrives; refuse or misbehave on request."""

    def __init__(self, pipelining: bool) -> None:
        self.pipelining = pipelining
        self.received: list[tuple[str, list[str], bytes]] = []
        self.ehlo_count = 0
        self.ehlo_names: list[str] = []
        self.sessions: list[object] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_reply = "250 OK queued"
        self.drop_after_data = False
        self.last_server = None
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlo_names.append(hostname)
        self.ehlo_count += 1  # once per connection: that is how connections are counted
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads pipelined commands fine but does not advertise it
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.last_server = server
        if self.drop_after_data:
            # The whole message, final dot included, has arrived: vanish before replying.
            server.transport.close()
            return "250 never seen"
        if session not in self.sessions:
            self.sessions.append(session)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return self.data_reply

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        # handled=False makes aiosmtpd itself answer 535 on failure.
        return AuthResult(success=auth_data.password == b"p@ss:w/rd", handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=[True, False], ids=["pipelining", "one-command-at-a-time"])
def start_server(request):
    """Start aiosmtpd servers on free loopback ports, with and without PIPELINING; stop them after the test."""
    controllers = []

    def start(**smtp_options) -> tuple[RecordingHandler, Controller]:
        handler = RecordingHandler(pipelining=request.param)
        if smtp_options.pop("auth", False):
            smtp_options.update(auth_require_tls=False, authenticator=handler.authenticate)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_options)
        controller.start()
        controllers.append(controller)
        return handler, controller

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(start_server):
    handler, controller = start_server()
    return handler, f"smtp://127.0.0.1:{controller.port}?timeout=5"


def messages(count: int) -> list[bytes]:
    builder = MessageBuilder(sender=f"Kunst & Kultur i Balance <{SENDER}>", message_id_domain="example.org")
    return [builder.build(to=f"Søren {i} <s{i}@example.dk>", subject=f"Nyhed nr. {i}: æøå",
                          text=f"Hej {i}\n.dot line\n", html=f"<p>Hej {i}</p>\n" * 500).data
            for i in range(count)]


def test_one_connection_carries_many_messages_byte_identical(server):
    handler, url = server
    sent = messages(5) + [RAW]
    with SMTPTransport(url) as transport:
        for i, data in enumerate(sent):
            assert transport.send(SENDER, f"s{i}@example.dk", data).startswith("250 ")
    assert [r[2] for r in handler.received] == sent
    assert [r[1] for r in handler.received] == [[f"s{i}@example.dk"] for i in range(6)]
    assert {r[0] for r in handler.received} == {SENDER}
    assert handler.ehlo_count == 1 and len(handler.sessions) == 1


def test_builder_output_sent_wire_ready_arrives_byte_identical(server):
    handler, url = server
    sent = messages(3)
    with SMTPTransport(url) as transport:
        for i, data in enumerate(sent):
            transport.send(SENDER, f"s{i}@example.dk", data, wire_ready=True)
        # The pipelined path is taken exactly when the server offers it.
        assert transport._conn.has_extn("pipelining") == handler.pipelining
    assert [r[2] for r in handler.received] == sent


def test_bare_lf_data_arrives_with_crlf(server):
    handler, url = server
    with SMTPTransport(url) as transport:
        transport.send(SENDER, "a@example.dk", RAW.replace(b"\r\n", b"\n").rstrip(b"\n"))
    assert handler.received[0][2] == RAW


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_451_is_transient_and_the_next_send_works(server, where):
    handler, url = server
    if where == "rcpt":
        handler.rcpt_replies["busy@example.dk"] = "451 try later"
    else:
        handler.data_reply = "451 try later"
    with SMTPTransport(url) as transport:
        with pytest.raises(TransientSendError) as caught:
            transport.send(SENDER, "busy@example.dk", RAW)
        assert caught.value.code == 451 and "try later" in caught.value.reply
        handler.data_reply = "250 OK"
        assert transport.send(SENDER, "ok@example.dk", RAW).startswith("250")
    assert handler.received[-1][1] == ["ok@example.dk"]


def test_550_at_rcpt_is_permanent_and_the_connection_stays_usable(server):
    handler, url = server
    handler.rcpt_replies["gone@example.dk"] = "550 no such user"
    with SMTPTransport(url) as transport:
        with pytest.raises(PermanentSendError) as caught:
            transport.send(SENDER, "gone@example.dk", RAW)
        assert caught.value.code == 550 and caught.value.reply == "no such user"
        assert caught.value.stage == "rcpt"
        transport.send(SENDER, "here@example.dk", RAW)
    assert [r[1] for r in handler.received] == [["here@example.dk"]]
    assert handler.ehlo_count == 1


def test_connection_lost_after_the_dot_is_uncertain_then_reconnects(server):
    handler, url = server
    handler.drop_after_data = True
    with SMTPTransport(url) as transport:
        with pytest.raises(UncertainDeliveryError):
            transport.send(SENDER, "a@example.dk", RAW)
        handler.drop_after_data = False
        transport.send(SENDER, "b@example.dk", RAW)
    assert [r[1] for r in handler.received] == [["b@example.dk"]]
    assert handler.ehlo_count == 2


def test_idle_connection_closed_by_the_server_is_reopened_silently(start_server):
    handler, controller = start_server()
    with SMTPTransport(f"smtp://127.0.0.1:{controller.port}") as transport:
        transport.send(SENDER, "a@example.dk", RAW)
        controller.loop.call_soon_threadsafe(handler.last_server.transport.close)
        time.sleep(0.2)
        transport.send(SENDER, "b@example.dk", RAW)
    assert len(handler.received) == 2 and handler.ehlo_count == 2


def test_server_not_listening_is_transient():
    transport = SMTPTransport(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(TransientSendError) as caught:
        transport.send(SENDER, "a@example.dk", RAW)
    assert caught.value.stage == "connect"
    transport.close()


@pytest.mark.parametrize("query", ["", "?starttls=1"])
def test_tls_against_a_plain_server_is_transient_not_a_bounce(start_server, query):
    _, controller = start_server()
    scheme = "smtp" if query else "smtps"
    with SMTPTransport(f"{scheme}://127.0.0.1:{controller.port}{query}", timeout=5) as transport:
        with pytest.raises(TransientSendError):
            transport.send(SENDER, "a@example.dk", RAW)


def test_credentials_are_percent_decoded_and_used(start_server):
    handler, controller = start_server(auth=True)
    url = f"smtp://user%40example.org:p%40ss%3Aw%2Frd@127.0.0.1:{controller.port}"
    with SMTPTransport(url) as transport:
        transport.send(SENDER, "a@example.dk", RAW)
    assert handler.logins == [(b"user@example.org", b"p@ss:w/rd")]
    assert len(handler.received) == 1


def test_wrong_password_is_transient_not_a_bounce(start_server):
    handler, controller = start_server(auth=True)
    with SMTPTransport(f"smtp://user:wrong@127.0.0.1:{controller.port}") as transport:
        with pytest.raises(TransientSendError) as caught:
            transport.send(SENDER, "a@example.dk", RAW)
    assert caught.value.code == 535 and handler.received == []


def test_bad_envelope_addresses_are_refused_before_the_server():
    transport = SMTPTransport(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(HeaderInjectionError):
        transport.send(SENDER, "a@example.dk>\r\nRCPT TO:<b@example.dk", RAW)
    with pytest.raises(PermanentSendError):
        transport.send(SENDER, "søren@example.dk", RAW)


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.org", dict(host="mail.example.org", port=25, implicit_tls=False, starttls=False)),
    ("smtps://mail.example.org", dict(port=465, implicit_tls=True, starttls=False)),
    ("smtp://mail.example.org?starttls=1", dict(port=25, starttls=True)),
    ("smtp://mail.example.org:587?starttls=1&timeout=10", dict(port=587, starttls=True, timeout=10.0)),
    ("smtp://u%40example.org:p%40ss%3A1@h:2525", dict(host="h", port=2525, username="u@example.org",
                                                      password="p@ss:1")),
    ("smtp://h", dict(username=None, password=None, timeout=None)),
])
def test_smtp_url_forms_parse(url, expected):
    settings = parse_smtp_url(url)
    assert {key: getattr(settings, key) for key in expected} == expected
    assert "p@ss" not in repr(settings)


@pytest.mark.parametrize("url", ["http://h", "smtp://", "smtp://h:99999", "smtps://h?starttls=1",
                                 "smtp://h?tls=1", "smtp://h?timeout=soon", "smtp://h?starttls=maybe",
                                 "smtp://h/path"])
def test_invalid_smtp_urls_raise_value_error(url):
    with pytest.raises(ValueError):
        open_transports(url, "unused")


def test_open_transports_picks_the_transport(tmp_path):
    for url in (None, ""):
        [outbox] = open_transports(url, tmp_path, connections=3)
        assert isinstance(outbox, OutboxTransport) and outbox.shared
    [memory] = open_transports("memory://", tmp_path, connections=3)
    assert isinstance(memory, MemoryTransport) and memory.shared
    connections = open_transports("smtps://u:p@mail.example.org?timeout=3", tmp_path, connections=3)
    assert len(connections) == 3 and len({id(c) for c in connections}) == 3
    for smtp in connections:
        assert isinstance(smtp, SMTPTransport) and smtp.settings.implicit_tls and smtp.timeout == 3.0
        assert not smtp.shared


def test_outbox_writes_parseable_eml_files_newest_first(tmp_path):
    folder = tmp_path / "outbox"
    sent = messages(3)
    with OutboxTransport(folder) as outbox:
        for data in sent:
            assert outbox.send(SENDER, "a@example.dk", data).startswith("written to ")
    (folder / ".half-written.eml.tmp").write_bytes(b"partial")
    (folder / "notes.txt").write_text("not mail")
    files = list_outbox(folder)
    assert len(files) == 3 and [f.read_bytes() for f in files] == sent[::-1]
    for path in files:
        msg = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        assert msg.defects == [] and msg.get_content_type() == "multipart/alternative"
    assert list_outbox(tmp_path / "missing") == []


def test_memory_transport_keeps_what_was_sent():
    with MemoryTransport() as memory:
        memory.send(SENDER, "a@example.dk", RAW)
    assert memory.sent == [(SENDER, "a@example.dk", RAW)]


VERP_SENDER = "bounces+m12345.AbC-_9xYz0123456@example.org"


def test_the_connections_open_transports_makes_greet_with_the_given_name(server, tmp_path):
    handler, url = server
    [transport] = open_transports(url, tmp_path, local_hostname="mail.example.org")
    with transport:
        transport.send(VERP_SENDER, "s@example.dk", messages(1)[0])
    assert handler.ehlo_names == ["mail.example.org"]
    assert handler.received[0][0] == VERP_SENDER  # a VERP envelope sender goes through as it is


def test_outbox_and_memory_take_a_verp_sender(tmp_path):
    memory = MemoryTransport()
    memory.send(VERP_SENDER, "s@example.dk", RAW)
    assert memory.sent[0][0] == VERP_SENDER
    OutboxTransport(tmp_path).send(VERP_SENDER, "s@example.dk", RAW)
    assert len(list_outbox(tmp_path)) == 1
