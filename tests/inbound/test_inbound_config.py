"""The inbound settings are checked at start like every MAILER_* setting."""
from __future__ import annotations


import pytest

from mailer.config import ConfigError, load_config


@pytest.mark.parametrize(("name", "value"), [
    ("MAILER_SOFT_BOUNCE_LIMIT", "0"), ("MAILER_SOFT_BOUNCE_LIMIT", "three"),
    ("MAILER_SOFT_BOUNCE_DAYS", "0"), ("MAILER_SOFT_BOUNCE_DAYS", "366"),
    ("MAILER_INBOUND_MAX_BYTES", "100"), ("MAILER_INBOUND_MAX_BYTES", "10MB"),
    ("MAILER_BOUNCE_IMAP_URL", "pop3://u:p@mail.example.org"), ("MAILER_BOUNCE_IMAP_URL", "imaps://mail.example.org"),
    ("MAILER_BOUNCE_IMAP_URL", "imaps://user@mail.example.org/INBOX"),
])
def test_a_bad_value_names_the_variable(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path))
    assert str(raised.value).startswith(name)


def test_a_bad_imap_url_does_not_repeat_its_password(clean_env, tmp_path):
    clean_env.setenv("MAILER_BOUNCE_IMAP_URL", "pop3://user:s3cret@mail.example.org")
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path))
    assert "s3cret" not in str(raised.value)


def test_defaults_and_good_values(clean_env, tmp_path):
    config = load_config(str(tmp_path))
    assert (config["SOFT_BOUNCE_LIMIT"], config["SOFT_BOUNCE_DAYS"], config["BOUNCE_IMAP_URL"]) == (3, 30, None)
    assert config["INBOUND_MAX_BYTES"] == 10_000_000
    clean_env.setenv("MAILER_SOFT_BOUNCE_LIMIT", "5")
    clean_env.setenv("MAILER_BOUNCE_IMAP_URL", "imaps://bounces%40example.org:pw@imap.example.org/INBOX")
    config = load_config(str(tmp_path))
    assert config["SOFT_BOUNCE_LIMIT"] == 5 and config["BOUNCE_IMAP_URL"].startswith("imaps://")
