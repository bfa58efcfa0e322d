"""Events: the domain services (service.py), calendar files and links (calendar.py), and the mailings
an event brings (mailings.py, reminders.py, mailing_texts.py). The HTTP layer lives in public/ and staff/."""
