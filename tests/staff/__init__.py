"""Tests of mailer/staff/: logins, route security, the team and the sending pages; the staff fixtures live in tests/conftest.py."""
