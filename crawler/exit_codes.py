"""The one exit-code table of ``uir-news`` and ``scrapy crawl gxyw`` (listed in the README).

Its own module, importing nothing, so every command can name its exit codes
without loading Scrapy; :mod:`crawler.summary` decides a run's code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of ``uir-news crawl`` and ``scrapy crawl gxyw`` (listed in the README)."""

    OK = 0
    PARTIAL = 1  # some pages could not be archived; the rest is safe
    USAGE = 2  # bad command line or input
    LAYOUT_ALARM = 3  # a normally present field vanished: the site was redesigned
    LOCKED = 4  # another run holds the archive's lock
    FAILED = 5  # nothing could be crawled (start page unreachable), or the archiver died
    DAMAGED = 6  # damage found in the archive and reported; every readable record was kept
    DISK_FULL = 7  # no space left on the device (or over quota); what was written is safe
    NO_PERMISSION = 8  # a file could not be read or written: permissions, a read-only mount
    FORMAT = 9  # the archive's format is newer than this uir-news, or older and read-only
    INTERNAL_ERROR = 70  # an unexpected error (a bug): the traceback is in ARCHIVE/logs/
    INTERRUPTED = 130  # stopped by Ctrl-C before it finished
    BROKEN_PIPE = 141  # the reader of the output went away (| head), as after SIGPIPE
