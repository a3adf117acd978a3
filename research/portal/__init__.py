"""The researchers' web portal: server-rendered pages, no external assets (docs/research.md)."""
