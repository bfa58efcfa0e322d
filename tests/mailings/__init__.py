"""Tests of the mailing workspace: drafts, preview, test sends, checks, templates, archive."""
