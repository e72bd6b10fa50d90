"""Runnable course examples: ``python -m examples.NAME --help`` (see examples/README.md)."""
