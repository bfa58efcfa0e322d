"""Domain services for the subscriber lifecycle: no Flask request in here."""
