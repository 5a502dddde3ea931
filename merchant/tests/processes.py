"""Run the program in a fresh Python process, as an operator would, with a chosen environment."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Variables the test process itself sets; a fresh process must not inherit them.
TEST_ONLY_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "SECURE_SSL_REDIRECT",
}


def run_python(code: str, env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `code` (or `python *args` when args are given) with VAR_DIR=tmp_path and `env` on top."""
    clean = {key: value for key, value in os.environ.items() if key not in TEST_ONLY_VARIABLES}
    full_env = {**clean, "ENV_FILE": "", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "merchant.settings", **env}
    command = [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)  # noqa: S603
