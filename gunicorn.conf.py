"""gunicorn settings for Mutual: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (the README's deploying section); options given
on gunicorn's command line win over this file (the page benchmark passes `-w` and `-b`).
"""

import multiprocessing
import os

# Behind nginx or another proxy on the same machine; the proxy terminates TLS.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request holds one process; pages are CPU-bound (templates, SQLAlchemy), so
# about two per core. WEB_CONCURRENCY is the name most platforms set.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# A request slower than this is killed with its worker: a runaway query must not hold it forever.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# The proxy keeps connections to us open between requests.
keepalive = 5
# Restart a worker now and then, so a slow leak never grows without bound; the jitter keeps
# workers from restarting all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Not preloaded: each worker builds the app and opens its own database connections after the
# fork (a pool shared across fork breaks on PostgreSQL).
preload_app = False
# The app logs each request with its request id; gunicorn's own access log would repeat it.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# X-Forwarded-* are read by the app (PROXY_FIX_X_FOR / PROXY_FIX_X_PROTO), not by gunicorn.
forwarded_allow_ips = "127.0.0.1"
