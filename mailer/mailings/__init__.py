"""Mailings in the staff workspace: drafts, preview, test sends, the pre-send check, custom templates."""
