"""Configuration from environment variables, with working defaults.

One config class. ``create_app(test_config)`` applies overrides on top of it, so tests
never edit this class in place.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

SECRET_KEY_FILE = "secret_key"
#: The dossier hash key's file in the instance folder (when DOSSIER_HASH_KEY is unset).
DOSSIER_KEY_FILE = "dossier_key"


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL that uses psycopg 3 for PostgreSQL.

    ``postgres://`` and ``postgresql://`` (as hosting platforms hand them out) are
    rewritten to ``postgresql+psycopg://``; every other URL is returned unchanged.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_or_create_secret_key(instance_path: str | os.PathLike[str]) -> str:
    """Read the secret key from the instance folder, generating it on first run.

    The file is created with mode 0600 and never lives in the repository.
    """
    path = Path(instance_path) / SECRET_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def read_key_file(instance_path: str | os.PathLike[str], name: str) -> str | None:
    """The key stored in a file of the instance folder, or None if there is none."""
    path = Path(instance_path) / name
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return key or None


def create_key_file(instance_path: str | os.PathLike[str], name: str, key: str) -> str:
    """Write a key file (mode 0600) unless one exists; returns the key the file holds.

    The file is written under a temporary name and linked into place, so two processes
    doing this at once end up with the same key: the one that linked first.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temporary = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return read_key_file(folder, name) or key


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else int(value)


class Config:
    """Settings read from the environment when the app is created."""

    def __init__(self, instance_path: str) -> None:
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if not database_url:
            database_url = "sqlite:///" + str(Path(instance_path) / "survey.sqlite3")
        self.SQLALCHEMY_DATABASE_URI: str = normalise_database_url(database_url)
        self.SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
        # Sessions: HttpOnly and SameSite always; Secure when served over HTTPS.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        # Under gunicorn, a request body that pauses longer than this (seconds) is
        # answered 408 (survey_app/edge.py).
        self.BODY_READ_TIMEOUT_S = float(os.environ.get("BODY_READ_TIMEOUT_S", "5"))
        self.BABEL_DEFAULT_LOCALE = "vi"
        self.BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh")
        self.LANGUAGES = ("vi", "en")
        # Rate-limit counters: by default in the database (survey_app/ratelimit_storage.py),
        # shared by every worker and server; redis:// or memcached:// also work.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "survey-sql://")
        # Password attempts per account (whoever tries) and, looser, per client address.
        self.RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute")
        self.RATELIMIT_LOGIN_ADDRESS = os.environ.get("RATELIMIT_LOGIN_ADDRESS", "30 per minute")
        # Reverse proxies in front of the app that set X-Forwarded-For and -Proto
        # (nginx: 1). The client address is then taken from those headers (ProxyFix);
        # 0 trusts no header. Never set it higher than the real number of proxies.
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        # Submissions (collection/submissions/rate_limit.py): per kiosk device token, else
        # per client IP.
        self.RATELIMIT_SUBMIT_KIOSK = os.environ.get("RATELIMIT_SUBMIT_KIOSK", "30 per minute")
        # figures read the folded responses from figure_sums (reporting/figure_store.py)
        self.FIGURE_STORE = _env_bool("FIGURE_STORE", True)
        # benchmarks/load_wrk.py's ceiling endpoint (POST /bench/insert); never in production
        self.BENCHMARK_CEILING = _env_bool("BENCHMARK_CEILING", False)
        # POST /api/v1/responses answered by its view without Flask's per-request hooks
        # (survey_app/blueprints/submission_lane.py); false sends it through Flask.
        self.SUBMISSION_LANE = _env_bool("SUBMISSION_LANE", True)
        # PostgreSQL: a kiosk response is acknowledged once its key is claimed and it is
        # written to response_inbox; `flask figures refresh` (and its resident form,
        # every second) moves it into responses (collection/submissions/inbox.py).
        self.SUBMISSION_INBOX = _env_bool("SUBMISSION_INBOX", False)
        self.RATELIMIT_SUBMIT_PHONE = os.environ.get("RATELIMIT_SUBMIT_PHONE", "10 per minute")
        # BURST_COUNT identical answer sets from one desk within BURST_WINDOW_S seconds are
        # stored flagged "burst" for review (0 turns this off).
        self.BURST_COUNT = _env_int("BURST_COUNT", 5)
        self.BURST_WINDOW_S = _env_int("BURST_WINDOW_S", 120)
        # HMAC key for dossier codes (collection/dossier_key.py); unset: instance/dossier_key,
        # generated once. It belongs to the data: every backup must carry it.
        self.DOSSIER_HASH_KEY = os.environ.get("DOSSIER_HASH_KEY") or None
        self.QUESTIONNAIRE_DIR = os.environ.get(
            "QUESTIONNAIRE_DIR", str(Path(__file__).resolve().parent.parent / "questionnaires")
        )
        # Citizens' forms: which questionnaire (latest version of the slug) each channel shows.
        self.KIOSK_QUESTIONNAIRE = os.environ.get("KIOSK_QUESTIONNAIRE", "kiosk_quick")
        self.PHONE_QUESTIONNAIRE = os.environ.get("PHONE_QUESTIONNAIRE", "kiosk_quick")
        # Seconds the kiosk's thank-you screen stays before the next citizen's start.
        self.KIOSK_THANKS_SECONDS = _env_int("KIOSK_THANKS_SECONDS", 6)
        # Address printed in poster QR codes (e.g. https://khaosat.example.gov.vn);
        # empty: the address the admin page was opened with.
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
        # Reporting rule for published figures (see the indices issue).
        self.MIN_EFFECTIVE_N = _env_int("MIN_EFFECTIVE_N", 30)
        self.MAX_CI_HALF_WIDTH = float(os.environ.get("MAX_CI_HALF_WIDTH", "10"))
        # a small-area estimate is published when its MSE-based CV is at most this
        self.MAX_SMALL_AREA_CV = float(os.environ.get("MAX_SMALL_AREA_CV", "0.075"))
        # Alerts (reporting/alerts/): rolling windows of continuous feedback (days) and
        # the family-wise level of one run's index-drop tests (Holm).
        self.ALERT_WINDOW_DAYS = _env_int("ALERT_WINDOW_DAYS", 14)
        self.ALERT_ALPHA = float(os.environ.get("ALERT_ALPHA", "0.05"))
        # E-mail of alerts and weekly digests through SMTP; off while MAIL_SERVER is unset.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "").strip() or None
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "khaosat@localhost")

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if key.isupper()}
