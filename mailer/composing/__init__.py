"""Composition: what each mail says, rendered from Jinja templates for each language and reader.

- markdown.py: staff Markdown to safe HTML and to readable plain text
- rendering.py: template pairs (name.html + name.txt), CSS inlining, markers for personal values
- links.py: public URLs, signed personal links and the List-Unsubscribe headers (RFC 8058)
- event_facts.py: what a mail says about an event (card, digest entry, welcome list)
- mailing.py: a mailing (announcement, reminder, cancellation) compiled once, personalised per reader
- digest.py: the upcoming-events digest, different for each reader
- composers.py: which of the two a mailing's kind needs
- lifecycle_mails.py: the opt-in, manage-link and welcome mails
- custom_templates.py: admins' own templates, rendered in Jinja's sandbox
"""
