"""Analysts\x27 side."""
