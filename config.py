"""Configuration classes. Everything comes from the environment, with safe embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

_DEV_SECRET = "dev-only-not-secret"


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'mutual.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # PostgreSQL connections, per process (every gunicorn worker and every Celery worker
    # process has its own pool; app/__init__.py applies these to PostgreSQL URLs only): the pool
    # keeps up to DB_POOL_SIZE open, opens up to DB_MAX_OVERFLOW more under a burst, waits at
    # most DB_POOL_TIMEOUT_SECONDS for a free one, and replaces a connection older than
    # DB_POOL_RECYCLE_SECONDS. A sync worker uses one at a time; keep processes x (size +
    # overflow) under the server's max_connections (100 by default).
    DB_POOL_SIZE = _int("DB_POOL_SIZE", 5)
    DB_MAX_OVERFLOW = _int("DB_MAX_OVERFLOW", 10)
    DB_POOL_TIMEOUT_SECONDS = _int("DB_POOL_TIMEOUT_SECONDS", 30)
    DB_POOL_RECYCLE_SECONDS = _int("DB_POOL_RECYCLE_SECONDS", 1800)
    SITE_NAME = os.environ.get("SITE_NAME", "Mutual")
    SITE_CURRENCY = os.environ.get("SITE_CURRENCY", "USD").upper()
    # Where the site is reached from outside: the links in emails start with it.
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")

    # Email (Flask-Mailman): "console" prints each message (no mail server needed), "file"
    # writes them under MAIL_FILE_PATH, "smtp" sends through MAIL_SERVER (the default once
    # MAIL_SERVER is set), "locmem" keeps them in memory (tests).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp" if MAIL_SERVER else "console")
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    MAIL_FILE_PATH = os.environ.get("MAIL_FILE_PATH", str(INSTANCE_DIR / "mail"))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Mutual <noreply@localhost>")

    PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "manual")
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    # The platform fee on card payments: basis points (500 = 5%) plus a fixed part in cents.
    PLATFORM_FEE_BPS = _int("PLATFORM_FEE_BPS", 500)
    PLATFORM_FEE_FIXED_CENTS = _int("PLATFORM_FEE_FIXED_CENTS", 0)
    PAYMENT_RETRY_ATTEMPTS = _int("PAYMENT_RETRY_ATTEMPTS", 3)
    PAYMENT_RETRY_BASE_DELAY = float(os.environ.get("PAYMENT_RETRY_BASE_DELAY", "0.5"))

    # Set, it turns Celery on (app/jobs/celery_app.py): Redis is its broker and result store,
    # beat schedules the due jobs, workers run them and deliver the events requests record.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # The Celery queue; its name also prefixes the due jobs' Redis locks (sites sharing a Redis
    # database each need their own).
    CELERY_QUEUE = os.environ.get("CELERY_QUEUE", "mutual")
    # "inprocess": a thread in the web process runs due jobs (unless REDIS_URL is set: then
    # Celery does); "external": cron or a worker does.
    JOBS_MODE = os.environ.get("JOBS_MODE", "inprocess")
    JOBS_INTERVAL_SECONDS = _int("JOBS_INTERVAL_SECONDS", 60)
    # On Celery: a due job's lock lasts at most this long (if its worker dies holding it).
    JOBS_LOCK_SECONDS = _int("JOBS_LOCK_SECONDS", 15 * 60)
    # On Celery: a worker that starts runs every due job once (what fell due while none ran).
    JOBS_CATCH_UP_ON_WORKER_START = _bool("JOBS_CATCH_UP_ON_WORKER_START", True)

    # The page cache (app/page_cache.py): anonymous pages and API reads, never stale (every
    # write moves a generation the key holds). auto: Redis when REDIS_URL is set (or
    # PAGE_CACHE_REDIS_URL), else an LRU in each process; memory; redis; off.
    PAGE_CACHE = os.environ.get("PAGE_CACHE", "auto")
    PAGE_CACHE_REDIS_URL = os.environ.get("PAGE_CACHE_REDIS_URL", "")
    # How long a page is kept at most: its relative times ("5 minutes ago") lag by that much.
    PAGE_CACHE_SECONDS = _int("PAGE_CACHE_SECONDS", 60)
    # The in-process LRU's bounds, per process.
    PAGE_CACHE_MAX_ENTRIES = _int("PAGE_CACHE_MAX_ENTRIES", 5000)
    PAGE_CACHE_MAX_BYTES = _int("PAGE_CACHE_MAX_BYTES", 64 * 1024 * 1024)

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_PHOTO_BYTES = _int("MAX_PHOTO_BYTES", 8 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 8 * 8 * 1024 * 1024 + 1024 * 1024)
    MAX_PHOTOS_PER_LISTING = 8
    MAX_JSON_BYTES = _int("MAX_JSON_BYTES", 1024 * 1024)  # an API body; uploads are multipart

    ORDER_AUTO_COMPLETE_DAYS = _int("ORDER_AUTO_COMPLETE_DAYS", 14)
    # Lending (app/lending): a request nobody answers expires after this many hours (or at the
    # end of its first day, if sooner); the lender may claim for damage this many days after
    # the return, and the borrower has this many days to answer a claim (else it stands).
    LOAN_REQUEST_EXPIRY_HOURS = _int("LOAN_REQUEST_EXPIRY_HOURS", 48)
    LOAN_CLAIM_WINDOW_DAYS = _int("LOAN_CLAIM_WINDOW_DAYS", 3)
    LOAN_CLAIM_ANSWER_DAYS = _int("LOAN_CLAIM_ANSWER_DAYS", 7)
    # With a card provider, a deposit is a card hold when the loan's last day plus the claim
    # window fall within this many days of the approval (a hold lasts about 7 days); longer
    # loans keep the borrower's saved card, charged only if a claim or a late fee is upheld.
    LOAN_HOLD_WINDOW_DAYS = _int("LOAN_HOLD_WINDOW_DAYS", 6)
    # The borrower is reminded this many days before the due day, and each day it is late.
    LOAN_REMINDER_DAYS_BEFORE = _int("LOAN_REMINDER_DAYS_BEFORE", 1)
    # Buying clubs (app/clubs): starting a club takes at least CLUB_MIN_POSITIVE positive
    # ratings received and at least CLUB_MIN_PERCENT % positive over 12 months.
    CLUB_MIN_POSITIVE = _int("CLUB_MIN_POSITIVE", 3)
    CLUB_MIN_PERCENT = _int("CLUB_MIN_PERCENT", 90)
    # Trust levels (app/moderation/trust.py): the price and deposit ceilings, daily limits and
    # the deal gate of low levels. The club rule (trust level 2) is enforced either way.
    TRUST_GATES_ENABLED = _bool("TRUST_GATES_ENABLED", True)
    # A pledge whose card fails at settlement may be fixed for this many hours, then it is
    # dropped (the price stays the one fixed at the deadline). Members are reminded this many
    # hours before a deadline; a delivery not confirmed is taken as received after N days.
    DEAL_GRACE_HOURS = _int("DEAL_GRACE_HOURS", 48)
    DEAL_REMINDER_HOURS_BEFORE = _int("DEAL_REMINDER_HOURS_BEFORE", 24)
    DEAL_RECEIPT_DAYS = _int("DEAL_RECEIPT_DAYS", 7)
    FEEDBACK_WINDOW_DAYS = _int("FEEDBACK_WINDOW_DAYS", 30)
    # After an order completes (its money released to the seller) the buyer may still open a
    # dispute, and either side propose a refund, for this many days (app/disputes).
    REFUND_WINDOW_DAYS = _int("REFUND_WINDOW_DAYS", 60)
    # Reputation: a full pass at least this often; up to this many revealed ratings, a reveal
    # recomputes everything at once (above it only counts update, trust waits for the job).
    REPUTATION_RECOMPUTE_MINUTES = _int("REPUTATION_RECOMPUTE_MINUTES", 60)
    REPUTATION_MIN_GAP_SECONDS = _int("REPUTATION_MIN_GAP_SECONDS", 300)
    REPUTATION_SYNC_LIMIT = _int("REPUTATION_SYNC_LIMIT", 20_000)
    LISTINGS_PER_PAGE = 24

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    # Password checks (web sign-in, API token creation, password change), see
    # app/accounts/throttle.py: every check per client address; failures per address and
    # account; failures per account from every address.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT = os.environ.get(
        "LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT", "5 per minute;20 per hour"
    )
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour;100 per day")
    # Wrong handover codes typed for one loan, whoever types them (a code has six digits).
    HANDOVER_CODE_RATE_LIMIT = os.environ.get(
        "HANDOVER_CODE_RATE_LIMIT", "5 per 15 minutes;20 per day"
    )
    SIGNUP_RATE_LIMIT = os.environ.get("SIGNUP_RATE_LIMIT", "20 per hour")  # web and API together
    # Mails a person can make us send (reset links, confirmation links): per client address and
    # per recipient address, known or not (app/accounts/throttle.py).
    ACCOUNT_MAIL_RATE_LIMIT = os.environ.get("ACCOUNT_MAIL_RATE_LIMIT", "10 per hour")
    ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT = os.environ.get(
        "ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT", "3 per hour;10 per day"
    )
    PASSWORD_RESET_MINUTES = _int("PASSWORD_RESET_MINUTES", 60)  # how long a reset link works
    EMAIL_CONFIRM_HOURS = _int("EMAIL_CONFIRM_HOURS", 48)  # how long a confirmation link works
    API_TOKEN_RATE_LIMIT = os.environ.get("API_TOKEN_RATE_LIMIT", "10 per minute")
    API_WRITE_RATE_LIMIT = os.environ.get("API_WRITE_RATE_LIMIT", "60 per minute")
    # How many proxies in front of the app set X-Forwarded-For / X-Forwarded-Proto (nginx: 1).
    # 0 trusts neither header: the client address is the connection's.
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = _int("PROXY_FIX_X_PROTO", 0)
    # Strict-Transport-Security max-age in seconds; 0 sends no header (production: one year).
    HSTS_SECONDS = 0

    PASSWORD_HASH_TIME_COST = _int("PASSWORD_HASH_TIME_COST", 3)
    PASSWORD_HASH_MEMORY_KIB = _int("PASSWORD_HASH_MEMORY_KIB", 65536)
    REMEMBER_COOKIE_DURATION_DAYS = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None

    DEMO_DATA_ON_FIRST_START = _bool("DEMO_DATA", False)
    TESTING = False

    # "text" (one readable line per record) or "json" (one object per line, for a log
    # collector); every record carries the request id, or the task id and the due job's name.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").lower()
    # /metrics answers callers on this machine; set, anyone sending it as a bearer token too.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")


class DevelopmentConfig(Config):
    """The embedded default: SQLite under instance/, manual payments, in-process jobs, demo data."""

    DEBUG = False
    DEMO_DATA_ON_FIRST_START = _bool("DEMO_DATA", True)


class TestConfig(Config):
    """Used by the test suite; the database URL is set by the fixtures."""

    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    TRUST_GATES_ENABLED = False  # the trust tests turn the gates on
    JOBS_MODE = "external"
    REDIS_URL = ""  # in-process delivery; the Celery tests turn it on themselves
    PAGE_CACHE = "off"  # the page cache tests turn it on (tests/integration/test_page_cache.py)
    # Cheap hashes keep the suite fast; production uses the defaults above.
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 1024
    PAYMENT_PROVIDER = "manual"
    PAYMENT_RETRY_BASE_DELAY = 0.0
    DEMO_DATA_ON_FIRST_START = False
    REPUTATION_MIN_GAP_SECONDS = 0
    SERVER_NAME = None
    MAIL_BACKEND = "locmem"
    SITE_URL = "http://mutual.test"
    LOG_FORMAT = "text"


class ProductionConfig(Config):
    """Production: refuses to start without real secrets."""

    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = _int("HSTS_SECONDS", 365 * 24 * 3600)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").lower()

    @classmethod
    def validate(cls) -> None:
        """Raise RuntimeError when a required secret is missing or weak."""
        key = os.environ.get("SECRET_KEY", "")
        if not key or key == _DEV_SECRET or len(key) < 32:
            raise RuntimeError(
                "ProductionConfig needs SECRET_KEY: a random string of at least 32 characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        if os.environ.get("PAYMENT_PROVIDER", "manual") == "stripe" and not os.environ.get(
            "STRIPE_SECRET_KEY"
        ):
            raise RuntimeError("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by MUTUAL_ENV (development, test or production)."""
    name = os.environ.get("MUTUAL_ENV", "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"MUTUAL_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
