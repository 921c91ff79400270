"""The Celery entry point: `celery -A app.jobs.worker:celery worker` (and `beat`), with
REDIS_URL set. It builds the Flask app from the environment, like wsgi.py, so tasks use the same
configuration and database as the web processes."""

from app import create_app
from app.jobs.celery_app import celery_of

flask_app = create_app()
celery = celery_of(flask_app)
