# Right-Speed Portfolio: one image for every role, chosen by the command (compose.yaml, docs/OPERATIONS.md).
#   web      gunicorn portfolio.wsgi …              (the default CMD below)
#   worker   celery -A portfolio worker …
#   beat     celery -A portfolio beat …             (exactly one, ever)
#   migrate  python manage.py migrate --noinput     (one-shot, before a new web/worker starts)
# Build: docker build -t right-speed-portfolio .

# --- Front-end packages: npm ci from package-lock.json (the app serves them itself, portfolio/staticfiles.py).
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

# --- Build: compilers, the Python packages into a venv, collectstatic.
FROM python:3.12-slim-bookworm AS build
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# The runtime dependencies of pyproject.toml at the versions CI tested (requirements.lock as
# constraints): the lock's test and lint tools (pytest, playwright, ruff…) stay out of the image.
COPY pyproject.toml requirements.lock ./
COPY deploy/build_helpers.py deploy/
RUN python deploy/build_helpers.py requirements pyproject.toml > /tmp/runtime.txt \
 && pip install --requirement /tmp/runtime.txt --constraint requirements.lock \
 && pip check
COPY . .
COPY --from=assets /build/node_modules ./node_modules
# collectstatic with the production storage (hashed, compressed names for WhiteNoise). The secret key
# is a build-time placeholder, never used at run time; no database or broker is touched. Then only
# the npm files the app serves are kept (manage.py check looks for them): not the packages' trees.
RUN export DJANGO_SETTINGS_MODULE=portfolio.settings.production \
      SECRET_KEY=build-only-placeholder-never-used-at-run-time-0123456789abcdef \
      CELERY_BROKER_URL=memory:// \
 && python manage.py collectstatic --noinput \
 && python deploy/build_helpers.py npm-files node_modules /tmp/npm-runtime \
 && rm -rf node_modules && mv /tmp/npm-runtime node_modules \
 && mkdir -p media .celery

# --- Runtime: the venv, the app and the collected static files; no compiler, no npm.
FROM python:3.12-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=portfolio.settings.production \
    MEDIA_ROOT=/app/media
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 portfolio \
 && useradd --system --uid 10001 --gid portfolio --home-dir /app --no-create-home --shell /usr/sbin/nologin portfolio
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays root's (read-only to the app); only the uploads/exports folder (MEDIA_ROOT, a volume
# shared by web and worker) and beat's schedule folder are the app user's.
COPY --from=build /app /app
RUN chown portfolio:portfolio /app/media /app/.celery
USER portfolio:portfolio
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "/app/deploy/healthcheck.py"]
# Web by default; WEB_CONCURRENCY sets gunicorn's worker processes (gunicorn reads it).
CMD ["gunicorn", "portfolio.wsgi", "--bind", "0.0.0.0:8000", "--timeout", "120"]
