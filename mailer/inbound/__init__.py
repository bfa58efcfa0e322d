"""Mail that comes back: bounces, complaints and mailto unsubscribes, read and acted on.

classify.py says what a message is (pure, bytes in); verp.py reads the return path a bounce was
sent to; actions.py changes the database; listener.py is the SMTP listener and imap.py the
mailbox poller, both handing each message to actions.receive().
"""
