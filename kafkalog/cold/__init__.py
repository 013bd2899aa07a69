"""The log's cold tier: the archive of the events and accounts topics on object storage, as
every reader of the log sees it.

The archive writer (projections/archive/) keeps every record of those topics as Parquet
objects named by the offsets they cover; what is here is the read side and the format every
side agrees on: where objects live and what their keys say (`layout`), which objects make up
a partition's archive (`chain`), reading it back in offset order (`reader`, `record`), and
where one deployment's archive is (`settings`). `kafkalog.history` joins it to the log, so
that a view, the sequencer or the fan-out can rebuild when the log no longer holds its
oldest records (docs/archive.md, "Hot and cold").
"""
