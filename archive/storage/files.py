"""Small file-system helpers: atomic writes and safe path components."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(value: str, *, max_length: int = 80) -> str:
    """A single, harmless path component derived from untrusted text.

    Separators, ``..``, NUL and anything outside ``[A-Za-z0-9._-]`` are
    replaced, so the result can never climb out of or name another directory.
    """
    cleaned = _UNSAFE.sub("_", value).strip("._") or "_"
    return cleaned[:max_length]


def atomic_write_bytes(
    path: Path, data: bytes, *, durable: bool = True, make_parent: bool = True
) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new, never half.

    The bytes go to a temporary file in the same directory and replace the
    target in one rename, which no kill of this process can tear. ``durable``
    also fsyncs the file first, so it survives a power cut; records skip
    that (it was an eighth of a crawl's time): a record lost to a power cut
    is refetched, because recovery only trusts records it can read.
    ``make_parent=False`` skips creating the directory, for callers that know it exists.
    """
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(
    path: Path, text: str, *, durable: bool = True, make_parent: bool = True
) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable, make_parent=make_parent)
