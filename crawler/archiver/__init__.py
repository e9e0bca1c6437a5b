"""The archiver: a second process that parses and stores what the crawl fetched.

Scrapy's process downloads and writes the WARC (it has the bytes, and a WARC
record must be on disk before anything points at it); on a busy crawl the
rest of the work after a page arrives (parsing the article, checking the
record, the JSON file, the catalog rows, the search index) took longer than
Scrapy itself, on the same core. The archiver does that work in its own
process (``python -m crawler.archiver``), so a crawl uses two cores.

* :mod:`~crawler.archiver.protocol`: the typed messages over the pipe and their framing;
* :mod:`~crawler.archiver.client`: the crawl process's side (WARC writer,
  catalog reader, the pipe to the archiver);
* :mod:`~crawler.archiver.worker`: the archiver process, one handler per message;
* :mod:`~crawler.archiver.pages`: an article page and the record made of it,
  the same in either process.

This package imports nothing heavy on purpose: the archiver process starts
from it.
"""
