"""The one usage error of the command line.

Every command raises :class:`UsageError` for a mistake in what the user asked
for (a bad date, a missing archive, an unknown format); :func:`crawler.cli.main`
prints it in one line and exits with ``ExitCode.USAGE``, never a traceback.
"""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in what the user asked for; reported in one line, exit 2."""
