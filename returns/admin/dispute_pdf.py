"""The dispute packet as a PDF: the printable page printed by headless Chromium (Debian's `chromium`).

Chromium runs in a subprocess of its own process group with a fresh profile and a timeout; when it is
missing, fails or hangs, callers get None and show the printable page instead.
"""

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)
PDF_TIMEOUT_SECONDS = 45


def chromium_path() -> str | None:
    configured = getattr(settings, "CHROMIUM_PATH", "")
    return configured if configured and Path(configured).exists() else shutil.which("chromium")


def pdf_from_html(html: str, *, timeout: int = PDF_TIMEOUT_SECONDS) -> bytes | None:
    """The page printed to PDF by headless Chromium (Debian's `chromium`), or None when it is missing, fails or
    takes longer than `timeout` seconds. The page is self-contained: nothing is fetched while printing."""
    binary = chromium_path()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="dispute-pdf-") as folder:
        page, pdf = Path(folder) / "packet.html", Path(folder) / "packet.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
            f"--user-data-dir={Path(folder) / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]  # fmt: skip
        try:
            # Its own process group, so a Chromium that hangs is stopped with every helper process it started.
            process = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        except OSError:
            return None
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            logger.warning("Chromium did not print the dispute packet within %s s.", timeout)
            return None
        if not pdf.exists() or pdf.read_bytes()[:5] != b"%PDF-":
            return None
        return pdf.read_bytes()
