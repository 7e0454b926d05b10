"""Settings for the test suite: production settings with a test secret, plain HTTP and a fast
password hasher (Argon2 is deliberately slow; tests assert production uses it)."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijkl")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303 - tests only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
AXES_FAILURE_LIMIT = 5

# Messaging: deliver queued messages at once, texts into memory, and a Twilio token so webhook
# tests sign requests the way Twilio does.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
SMS_BACKEND = "locmem"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"  # noqa: S105 - tests only

# Consents: signed PDFs written by tests go to a throw-away directory, never into var/media.
# Removed when the process ends (each test run, and each process the tests start, has its own).
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="ketaclinic-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
