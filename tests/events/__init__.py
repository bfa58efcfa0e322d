"""Tests of mailer/events/: the service, the calendar files, the pages and the event mailings."""
