"""The archive's truth on disk: WARC files, JSON records, the catalog, the lock, recovery, verify.

Nothing here imports Scrapy, the crawler, replay or research.
"""
