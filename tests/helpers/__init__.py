"""What several test modules share: records, synthetic archives, WARC checks, running the CLI."""
