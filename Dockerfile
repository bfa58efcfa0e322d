# syntax=docker/dockerfile:1
# One image for every Python service of mailer: web (gunicorn), worker and
# beat (Celery) and the one-shot migrate job. docker-compose.yml picks the command.
FROM python:3.11-slim

# gunicorn takes its default worker count from WEB_CONCURRENCY: override it at
# run time (about 2 x CPU cores + 1) without rebuilding.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    FLASK_APP=wsgi \
    WEB_CONCURRENCY=3

# Unprivileged user that runs every service. It owns only the instance folder,
# not the code.
RUN groupadd --system --gid 10001 mailer \
 && useradd --system --uid 10001 --gid mailer --create-home --home-dir /home/mailer \
            --shell /usr/sbin/nologin mailer

WORKDIR /app

# Dependencies first, so code changes do not invalidate this layer.
# The compiled dependencies all ship manylinux wheels (psycopg[binary] bundles
# libpq) and dkimpy is pure Python, so no compiler or system library is needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The application: wsgi.py, worker.py, mailer/ (with its vendored static
# assets), templates/, migrations/ ... .dockerignore keeps out the rest.
COPY . .
RUN python -m compileall -q /app \
 && mkdir -p /app/instance \
 && chown mailer:mailer /app/instance

USER mailer

EXPOSE 8000

CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--logger-class", "mailer.gunicorn_logging.RedactingLogger"]
