"""The one usage error of the command line, and what every other failure is reported as.

Every command raises :class:`UsageError` for a mistake in what the user asked
for (a bad date, a missing archive, an unknown format); :func:`crawler.cli.main`
prints it in one line and exits with ``ExitCode.USAGE``, never a traceback.
Any other exception gets its exit code and one line from :func:`failure_code`
(a full disk, a permission denied, a damaged catalog); an unexpected one is
``INTERNAL_ERROR``, its traceback written by :func:`log_traceback` to a log
file in the archive, not to the terminal or to cron's mail.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from archive.storage.catalog import CatalogVersionError
from archive.storage.layout import archive_dir
from crawler.exit_codes import ExitCode


class UsageError(Exception):
    """A mistake in what the user asked for; reported in one line, exit 2."""


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def failure_code(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one line for a command that failed with ``exc``."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        where = f" writing {exc.filename}" if exc.filename else ""
        return ExitCode.DISK_FULL, f"no space left on the device{where} ({exc.strerror})"
    if isinstance(exc, OSError) and exc.errno in _NO_PERMISSION:
        where = f" for {exc.filename}" if exc.filename else ""
        return ExitCode.NO_PERMISSION, f"permission denied{where} ({exc.strerror})"
    if isinstance(exc, CatalogVersionError):
        return ExitCode.FORMAT, str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        if "disk is full" in text:
            return ExitCode.DISK_FULL, f"no space left on the device ({text})"
        if "malformed" in text or "not a database" in text:
            return (
                ExitCode.DAMAGED,
                f"the catalog is damaged ({text}); `uir-news rebuild` makes it again "
                "from the WARC files and records",
            )
        if "readonly" in text or "unable to open" in text:
            return ExitCode.NO_PERMISSION, f"cannot write the catalog ({text})"
    return ExitCode.INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}"


def log_traceback(exc: BaseException, archive: str | os.PathLike[str] | None) -> Path:
    """Write ``exc``'s traceback to ``ARCHIVE/logs/error-*.log`` (else the temp dir); its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = "".join(traceback.format_exception(exc))
    for folder in (archive_dir(archive) / "logs", Path(tempfile.gettempdir())):
        prefix = "error" if folder.name == "logs" else "uir-news-error"
        path = folder / f"{prefix}-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path
    return Path("(nowhere: the archive and the temporary directory are not writable)")
