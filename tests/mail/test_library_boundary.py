"""The mail library stands alone: importing all of it loads neither Flask nor SQLAlchemy nor the app."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAIL = Path(__file__).resolve().parents[2] / "mailer" / "mail"


def test_the_mail_library_imports_no_flask_no_database_and_no_app_module():
    modules = sorted(f"mailer.mail.{p.stem}" for p in MAIL.glob("*.py") if p.stem != "__init__")
    assert {"mailer.mail.mime", "mailer.mail.smtp", "mailer.mail.transports", "mailer.mail.dkim"} <= set(modules)
    probe = (
        "import sys\n"
        f"for name in {modules!r}: __import__(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'flask_sqlalchemy',"
        " 'celery', 'jinja2', 'werkzeug') or (m.startswith('mailer.') and not m.startswith('mailer.mail')))\n"
        "print('\\n'.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=MAIL.parents[1])
    assert result.stdout.split() == []
