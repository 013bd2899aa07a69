"""The search view: every readable message, found by word or by substring, in any language.

The process (phase 2: `python -m projections search`) follows `<prefix>.events` and keeps one
tantivy index: one document per message with its latest text (`projection.py` decides, pure;
`store.py` writes), and, in the same tantivy commit, the offset it has applied up to per
partition. The edge searches it through `projections.search.query`, which never imports Kafka
and checks every hit against the history view's membership at query time (`access.py`).

Importing this package imports nothing else, so the query side stays free of Kafka.
"""
