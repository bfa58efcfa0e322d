"""mailer: a self-hosted newsletter and event-mailing service."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the mailer application."""
    # Imported here, like everything the app needs: `import mailer.mail` must not load Flask.
    from flask import Flask

    app = Flask(
        __name__,
        template_folder="../templates",
        instance_path=os.environ.get("MAILER_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )

    from mailer.config import load_config

    app.config.from_mapping(load_config(app.instance_path, test_config))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # request.remote_addr becomes the address the outermost trusted proxy saw (the ledger, the limits).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from mailer import extensions

    extensions.init_app(app)

    from mailer import cli, errors, i18n, security_headers, templating
    from mailer.inbound import staff_log
    from mailer.celery_app import celery_init_app

    i18n.init_app(app)
    templating.init_app(app)
    staff_log.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    cli.init_app(app)
    celery_init_app(app)

    from mailer.public.archive_views import bp as archive_bp
    from mailer.public.events_views import bp as events_bp
    from mailer.public.views import bp as public_bp
    from mailer.staff.mailing_views import bp as staff_mailings_bp
    from mailer.staff.version_preview import bp as staff_version_preview_bp
    from mailer.staff.events_views import bp as staff_events_bp
    from mailer.staff.template_views import bp as staff_templates_bp
    from mailer.staff.sending_views import bp as staff_sending_bp
    from mailer.staff.subscriber_views import bp as staff_subscribers_bp
    from mailer.staff.team_views import bp as staff_team_bp
    from mailer.staff.login_views import bp as staff_bp
    from mailer.staff import outbox_views  # noqa: F401 - adds the outbox pages to the staff blueprint
    from mailer.health import bp as health_bp
    from mailer.webhooks import bp as webhooks_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(archive_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(staff_events_bp)
    app.register_blueprint(staff_mailings_bp)
    app.register_blueprint(staff_version_preview_bp)
    app.register_blueprint(staff_templates_bp)
    app.register_blueprint(staff_sending_bp)
    app.register_blueprint(staff_subscribers_bp)
    app.register_blueprint(staff_team_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    return app
