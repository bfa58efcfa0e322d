"""Operator commands: `flask --app wsgi staff|seed|outbox|subscribers|mail-inbound ...`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from mailer import accounts
from mailer.extensions import db
from mailer.models import ConsentChannel, ConsentEvent, StaffRole
from mailer.mail.transports import list_outbox
from mailer.subscribers import lifecycle
from mailer.subscribers.consent import Origin

staff_cli = AppGroup("staff", help="Manage staff accounts.")
outbox_cli = AppGroup("outbox", help="Read the outbox folder of the embedded default.")
subscribers_cli = AppGroup("subscribers", help="Look up and manage subscribers.")
digest_cli = AppGroup("digest", help="The upcoming-events digest: preview it, or make it now.")


def _echo_preview(preview) -> None:
    for line in preview.lines:
        listed = "; ".join(f"{title} (new)" if new else title for title, new in line.events)
        click.echo(f"{line.email} [{line.language}, {line.frequency}]: {listed}")
    if preview.total > len(preview.lines):
        click.echo(f"... and {preview.total - len(preview.lines)} more")
    click.echo(f"{preview.total} readers would get a digest")


@digest_cli.command("preview")
def digest_preview() -> None:
    """Who would get a digest made now, with which events (new ones marked). Changes nothing."""
    from mailer import clock
    from mailer.mailings.digest_preview import preview_digest

    _echo_preview(preview_digest(clock.utcnow()))


@digest_cli.command("send-now")
@click.option("--yes", is_flag=True, help="Do not ask before sending.")
def digest_send_now(yes: bool) -> None:
    """Make the digest now and queue it: each reader gets what `digest preview` shows."""
    from mailer import clock
    from mailer.mailings.digest_preview import create_digest_now, preview_digest
    from mailer.tasks.sending import start_mailing

    now = clock.utcnow()
    preview = preview_digest(now)
    _echo_preview(preview)
    if preview.recent is None and not yes and not click.confirm("Send it now?"):
        raise click.Abort()
    digest_id, created = create_digest_now(now)
    if not created:
        click.echo(f"digest {digest_id} was made at {preview.recent.created_at:%Y-%m-%d %H:%M} UTC, less than a day "
                   "ago: no second one is made")
        return
    start_mailing.delay(digest_id)
    click.echo(f"digest {digest_id} made and queued; staff can follow it at /staff/mailings/{digest_id}")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), default=StaffRole.EDITOR.value)
@click.password_option(help="Prompted for when not given.")
def create_staff(email: str, role: str, password: str) -> None:
    """Create a staff account, or reset its password and role."""
    accounts.create_or_reset(email, role, password)
    click.echo(f"staff account {email} ({role}) ready")


@click.command("seed")
def seed() -> None:
    """Add demo content: topics and events. Safe to run twice."""
    from mailer.demo import seed_demo_content
    from mailer.demo_events import seed_demo_events

    created = seed_demo_content()
    db.session.flush()  # the demo events look their topics up by slug
    created += seed_demo_events()
    db.session.commit()
    click.echo(f"demo content ready ({created} new records)")


@outbox_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_outbox_command(limit: int) -> None:
    """List the newest mails in the outbox folder."""
    for path in list_outbox(current_app.config["OUTBOX_FOLDER"])[:limit]:
        click.echo(str(path))


def _subscriber_or_fail(email: str):
    subscriber = lifecycle.find_subscriber(email)
    if subscriber is None:
        raise click.ClickException(f"no subscriber with address {email}")
    return subscriber


@subscribers_cli.command("show")
@click.argument("email")
def show_subscriber(email: str) -> None:
    """Show a subscriber, their topics and their consent ledger."""
    subscriber = _subscriber_or_fail(email)
    paused = f"  paused_until={subscriber.paused_until:%Y-%m-%d %H:%M} UTC" if subscriber.paused_until else ""
    click.echo(f"{subscriber.email}  status={subscriber.status}  language={subscriber.language}  "
               f"frequency={subscriber.frequency}{paused}")
    for subscription in subscriber.subscriptions:
        click.echo(f"  topic {subscription.topic.slug}: {subscription.status}")
    events = db.session.scalars(
        db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id).order_by(ConsentEvent.id)
    )
    for event in events:
        click.echo(
            f"  {event.created_at:%Y-%m-%d %H:%M:%S} {event.action} topic={event.topic_id} "
            f"channel={event.channel} ip={event.ip} version={event.consent_version}"
            + (f" detail={event.detail}" if event.detail else "")
        )


@subscribers_cli.command("revoke-tokens")
@click.argument("email")
def revoke_tokens_command(email: str) -> None:
    """Kill every unsubscribe, manage and confirm link a subscriber holds."""
    subscriber = _subscriber_or_fail(email)
    lifecycle.revoke_tokens(subscriber, Origin(ConsentChannel.STAFF))
    db.session.commit()
    click.echo(f"links of {subscriber.email} revoked")


@click.command("mail-inbound")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(1, 65535))
@click.option("--imap", is_flag=True, help="Poll the mailbox in MAILER_BOUNCE_IMAP_URL instead of listening.")
@click.option("--interval", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds between two IMAP polls.")
def mail_inbound(host: str, port: int, imap: bool, interval: int) -> None:
    """Read the mail that comes back: bounces, complaints and mailto unsubscribes (SMTP, or IMAP)."""
    app = current_app._get_current_object()
    if imap:
        from mailer.inbound.imap import poll_forever

        if not app.config["BOUNCE_IMAP_URL"]:
            raise click.ClickException("--imap needs MAILER_BOUNCE_IMAP_URL")
        click.echo(f"polling the bounce mailbox every {interval} s")
        poll_forever(app, interval)
    from mailer.inbound.listener import serve

    click.echo(f"inbound SMTP listener on {host}:{port}")
    serve(app, host, port)


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (staff_cli, outbox_cli, subscribers_cli, digest_cli, seed, mail_inbound):
        app.cli.add_command(command)
