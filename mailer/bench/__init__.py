"""End-to-end sending benchmark: `python -m mailer.bench --help`.

Seeds PostgreSQL, starts Postfix's smtp-sink, measures smtp-source against it as the
reference, then sends one personalised mailing through real Celery workers and
reports throughput, time to first mail and worker memory. See docs/PERFORMANCE.md.
"""
