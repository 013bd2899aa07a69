"""The hot-tier message history and membership view, and its read-only query side.

The process (`python -m projections.history`) follows `<prefix>.events` and keeps, in one
RocksDB, every event of every conversation by seq, each conversation's members, each
user's conversations, and the offset it has applied up to per partition (the tracking
record), all written in the same batch. The edge opens the same RocksDB as a secondary
instance through `projections.history.query.HistoryReader`, which never imports Kafka.

Importing this package imports nothing else, so the query side stays free of Kafka.
"""
