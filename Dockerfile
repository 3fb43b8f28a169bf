# Releasebot's image: web (gunicorn), Celery worker and beat, and the Slack bot all run from it;
# docker-compose.yml picks the command. Data (git clones, beat schedule) lives in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RELEASEBOT_DATA_DIR=/data

# git: Releasebot cherry-picks, tags and pushes with the git command line (through GitPython).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 releasebot \
    && mkdir /data \
    && chown releasebot:releasebot /data

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=releasebot:releasebot . .

USER releasebot
# A throwaway key: collectstatic only needs the settings to load.
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v 0

VOLUME ["/data"]
EXPOSE 8000
CMD ["gunicorn", "releasebot.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
