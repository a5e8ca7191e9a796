"""Failure notices: a local webhook receiver and a local SMTP server (aiosmtpd) hear of a
failed run, and of a source that failed N times in a row; a good run sends nothing."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from catalogue.harvesting import run_harvest
from catalogue.notices import listeners_from_settings
from catalogue.store import Store


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.notices.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class _Mailbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd naming
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def receivers():
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.notices = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    mailbox = _Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port at start: name a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield hook, mailbox, smtp
    smtp.stop()
    hook.shutdown()
    hook.server_close()


def test_failed_runs_are_told_to_the_webhook_and_by_mail(
    store: Store, serve, small_repo, settings, receivers
) -> None:
    hook, mailbox, smtp = receivers
    settings["notices"].update(
        webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/hook",
        email_to="admin@example.org",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        failures_in_a_row=2,
    )
    listeners = listeners_from_settings(store, settings)
    server = serve({"/oai": small_repo})
    store.add_source("good", "oai", f"{server.base_url}/oai")
    store.add_source("dead", "oai", "http://127.0.0.1:9/oai")

    assert run_harvest(store, "good", settings, listeners=listeners).status == "succeeded"
    assert hook.notices == [] and mailbox.messages == []

    first = run_harvest(store, "dead", settings, listeners=listeners)
    assert first.status == "failed"
    [notice] = hook.notices
    assert notice["events"] == ["run_failed"] and notice["source"] == "dead"
    assert notice["run"] == first.id and "connection refused" in notice["message"]
    [(to, mail)] = mailbox.messages
    assert to == ["admin@example.org"] and "dead" in mail["Subject"]
    assert "connection refused" in mail.get_payload()

    run_harvest(store, "dead", settings, listeners=listeners)
    assert hook.notices[-1]["events"] == ["run_failed", "failing_repeatedly"]
    assert hook.notices[-1]["failures_in_a_row"] == 2
    assert "2 times in a row" in mailbox.messages[-1][1]["Subject"]


def test_no_notices_configured_means_no_listeners(store: Store, settings) -> None:
    assert listeners_from_settings(store, settings) == []
