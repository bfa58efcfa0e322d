"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""
from mailer import create_app
from mailer.config import ConfigError, exit_on_config_error

try:
    flask_app = create_app()
except ConfigError as error:
    exit_on_config_error(error)
celery_app = flask_app.extensions["celery"]
