"""Exports of the archive's current records.

Every export streams (one record in memory at a time) and is written
atomically: to a temporary file beside the target, renamed into place only
when complete, so a failed export never leaves a half file behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_output(path: Path | None, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write an export to; ``None`` means standard output.

    The file appears at ``path`` only if the block completes without error.
    """
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        mode = "wb" if binary else "w"
        encoding = None if binary else "utf-8"
        newline = None if binary else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
