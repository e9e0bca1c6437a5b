"""The ``uir-news`` command line: one parser, one usage error, one exit-code table."""

from crawler.cli.main import main

__all__ = ["main"]
