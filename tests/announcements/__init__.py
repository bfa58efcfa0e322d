"""Tests of the announcement workspace: drafts, preview, test sends, checks, templates, archive."""
