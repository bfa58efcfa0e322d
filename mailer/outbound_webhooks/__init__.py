"""Outgoing webhooks: events we POST, signed, to URLs admins registered (docs/WEBHOOKS.md).

Not the incoming bounce webhook, which is mailer/webhooks.py.
"""
