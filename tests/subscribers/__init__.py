"""Tests of mailer/subscribers/: the lifecycle, preferences, consent ledger, owed mails, bounces, admin, CSV import and GDPR."""
