"""A mailing's results as CSV for spreadsheets (UTF-8 with BOM, ';'): counts by outcome, unsubscribes, clicks per link."""
from __future__ import annotations

import csv
import io

from mailer.mailings.clicks import clicks_per_link
from mailer.reports.mailing_results import results_for
from mailer.subscribers.csv_export import defuse_formula as defused

OUTCOMES = ("sent", "bounced", "failed", "unknown", "skipped", "pending", "claimed")


def results_csv(mailing_id: int, subject: str) -> str:
    """Rows of section;name;value: the mailing, each delivery outcome, unsubscribes, then each link."""
    result = results_for([mailing_id])[mailing_id]
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["section", "name", "value"])
    writer.writerow(["mailing", defused(subject), mailing_id])
    writer.writerow(["outcome", "recipients", result.recipients])
    for outcome in OUTCOMES:
        writer.writerow(["outcome", outcome, result.outcomes.get(outcome, 0)])
    writer.writerow(["unsubscribed", "through this mailing", result.unsubscribed])
    writer.writerow(["clicks", "all links", result.clicks])
    for link in clicks_per_link(mailing_id):
        writer.writerow(["link", defused(link.url), link.clicks])
    return buffer.getvalue()
