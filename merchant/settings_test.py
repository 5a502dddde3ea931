"""Test settings: the real settings with fast hashing, synchronous django-q2 and local mail."""

import os
import secrets

# Tests see the same settings on every machine: no developer's .env is read.
os.environ["ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from merchant.settings import *  # noqa: E402,F403
from merchant.settings import Q_CLUSTER  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests travel in time with time-machine, which moves this process's clock, not the database's.
# One test checks the database clock explicitly (journeys/tests/test_dispatch.py).
JOURNEYS_CLOCK = "process"
