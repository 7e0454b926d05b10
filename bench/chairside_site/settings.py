"""The project's settings (``config.settings``, production defaults from the environment) with
the benchmark's URLconf and a static root of its own, so ``collectstatic`` for the benchmark
never touches the working copy's ``var/static``."""

import os
from pathlib import Path

from config.settings import *  # noqa: F403 - an overlay of the real settings
from config.settings import BASE_DIR

ROOT_URLCONF = "bench.chairside_site.urls"
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", BASE_DIR / "var" / "static"))
