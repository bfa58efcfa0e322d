"""Tests of the admin pages; the staff fixtures (staff, admin, editor) live in tests/conftest.py."""
from tests.conftest import ADMIN_EMAIL as ADMIN, EDITOR_EMAIL as EDITOR, STAFF_PASSWORD as PASSWORD, csrf_token, login

__all__ = ["ADMIN", "EDITOR", "PASSWORD", "csrf_token", "login"]
