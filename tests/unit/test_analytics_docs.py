"""docs/analytics.md lists every table's columns and every saved query as analytics/ has
them (regenerate with `python -m analytics.docs`)."""

from __future__ import annotations

from analytics import docs


def test_analytics_doc_is_generated_from_the_tables() -> None:
    text = docs.DOC.read_text()
    assert docs.written(text) == text
    assert docs.render() in text
