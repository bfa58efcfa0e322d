"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from mailer import create_app
from mailer.config import WEB_CONFIG_ERROR_STATUS, ConfigError, exit_on_config_error

try:
    app = create_app()
except ConfigError as error:
    exit_on_config_error(error, WEB_CONFIG_ERROR_STATUS)
