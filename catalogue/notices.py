"""Failure notices: a webhook and/or an e-mail when a run fails, when the deletion safety
valve trips, or when a source has failed ``failures_in_a_row`` times in a row ([notices]).

A notice is a listener of finished runs (:func:`catalogue.harvesting.run_harvest` calls it
after the lease is released); sending one never fails the run, and what it sends is the
run's own redacted message.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import requests

from catalogue.harvesting import RunListener
from catalogue.store import HarvestRun, Store

log = logging.getLogger(__name__)

VALVE = "deletion safety valve"


class Notifier:
    """Tells the configured webhook and mailbox of failures."""

    def __init__(self, store: Store, section: Mapping[str, Any]) -> None:
        self.store = store
        self.webhook = str(section.get("webhook_url") or "")
        self.email_to = str(section.get("email_to") or "")
        self.smtp = {k: section.get(k) for k in section if k.startswith("smtp_")}
        self.in_a_row = int(section.get("failures_in_a_row", 3))
        self.timeout = float(section.get("timeout", 10))

    def __call__(self, run: HarvestRun) -> None:
        if run.status != "failed":
            return
        failures = self._failures_in_a_row(run.source)
        events = ["run_failed"]
        if VALVE in (run.message or ""):
            events.append("deletion_valve")
        if failures == self.in_a_row:  # once, when the streak reaches it
            events.append("failing_repeatedly")
        notice = {
            "events": events,
            "source": run.source,
            "run": run.id,
            "status": run.status,
            "mode": run.mode,
            "message": (run.message or "")[:2000],
            "counts": vars(run.counts),
            "failures_in_a_row": failures,
            "started_at": run.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.webhook:
            self._post(notice)
        if self.email_to:
            self._mail(notice)

    def _failures_in_a_row(self, source: str) -> int:
        count = 0
        for run in self.store.list_runs(source, limit=max(self.in_a_row, 1) + 1):
            if run.status == "queued" or run.status == "running":
                continue
            if run.status != "failed":
                break
            count += 1
        return count

    def _post(self, notice: dict[str, Any]) -> None:
        try:
            answer = requests.post(self.webhook, json=notice, timeout=self.timeout)
            if answer.status_code >= 300:
                log.warning("notice webhook answered HTTP %d", answer.status_code)
        except requests.RequestException as exc:
            log.warning("notice webhook failed: %s", type(exc).__name__)

    def _mail(self, notice: dict[str, Any]) -> None:
        subject = f"[catalogue] harvest of {notice['source']} failed"
        if "deletion_valve" in notice["events"]:
            subject = f"[catalogue] {notice['source']}: deletion safety valve tripped"
        elif "failing_repeatedly" in notice["events"]:
            subject += f" {notice['failures_in_a_row']} times in a row"
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = str(self.smtp.get("smtp_from") or "catalogue@localhost")
        msg["To"] = self.email_to
        c = notice["counts"]
        msg.set_content(
            f"Source: {notice['source']}\nRun: {notice['run']} ({notice['mode']}), started "
            f"{notice['started_at']}\nStatus: {notice['status']}\nMessage: {notice['message']}\n"
            f"Counts: added {c['added']}, updated {c['updated']}, unchanged {c['unchanged']}, "
            f"deleted {c['deleted']}, failed {c['failed']}\n"
            f"Failed runs in a row: {notice['failures_in_a_row']}\n"
        )
        host = str(self.smtp.get("smtp_host") or "localhost")
        port = int(self.smtp.get("smtp_port") or 25)
        try:
            with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
                if self.smtp.get("smtp_starttls"):
                    smtp.starttls()
                if self.smtp.get("smtp_user"):
                    smtp.login(str(self.smtp["smtp_user"]), str(self.smtp.get("smtp_password")))
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("notice e-mail failed: %s", type(exc).__name__)


def listeners_from_settings(store: Store, settings: Mapping[str, Any]) -> list[RunListener]:
    section = settings.get("notices", {})
    if not section.get("webhook_url") and not section.get("email_to"):
        return []
    return [Notifier(store, section)]
