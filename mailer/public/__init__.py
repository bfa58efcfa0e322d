"""Public pages: subscribe, confirm, manage and unsubscribe."""
