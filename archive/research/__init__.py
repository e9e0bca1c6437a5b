"""Getting data out for research: filters, Chinese full-text search, exports, stats, Datasette.

Reads the catalog :mod:`archive.storage` keeps; never imports the crawler.
"""
