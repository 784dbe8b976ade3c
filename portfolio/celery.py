"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered.

The broker is the embedded filesystem transport by default and Redis when
CELERY_BROKER_URL says so; the nightly schedule (CELERY_BEAT_SCHEDULE) runs in
TIME_ZONE. Tasks live in each app's `tasks.py` (e.g. split.tasks) and call services.

    celery -A portfolio worker --loglevel=info
    celery -A portfolio beat --loglevel=info
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings.base")

app = Celery("portfolio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
