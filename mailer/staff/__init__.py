"""The staff workspace."""
