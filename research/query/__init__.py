"""Researchers' SQL over the released views: checked with a real parser, run in a locked-down DuckDB."""
