"""Tests of mailer/public/: the public pages, their forms and their languages."""
