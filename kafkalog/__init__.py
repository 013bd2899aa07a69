"""The log's plumbing, shared by every process that reads or writes Kafka: streams (the log
writers and the fan-out), projections (the views) and edge (its followers and gateway).

What lives here, one module each: `records` (a record's position and headers), `presets`
(every librdkafka configuration, named), `batches` (`next_batch`), `follower` (reads a
batch, decodes each record once, applies the policy below), `decoding` (what "unusable"
means), `dead_letters` (the one writer of the dead-letter topic), `output` (producing and
waiting for acknowledgements), `replay` (reading a partition range to its end),
`history` (the archive for what the log's retention dropped, then the log), `cold` (the
archive's read side: the log's cold tier on object storage), `rocks` (the RocksDB write
and scan under every store that keeps a position), `worker` (how a process stops or
restarts) and `settings` (the variables every process shares). It imports `schemas`,
`telemetry` and `objectstore` only, and knows nothing of conversations or views.

The error policy (docs/log.md says why, with examples):

1. An unusable record (it does not decode, its schema is unknown, it is not of a type
   the consumer reads, or it breaks an invariant of its log that no writer breaks, such as
   an event naming seq -1) is not retried: the same bytes fail the same way.
   - A consumer with a durable position of its own (the sequencer, the account registry,
     the fan-out, every view) parks it on the dead-letter topic with its source topic,
     partition and offset, the reason and the consumer's group, durably before the
     position that passes it is stored, and moves on.
   - A follower without one (an edge node's followers, the fan-out's session feed: they
     read from the start or the end at every start, and many read the same records)
     skips it, logging its position and counting it: parking it there would park the same
     record once per node and again at every start, and nothing durable was built from
     it that a replay of the dead letter could repair.
   - A log writer catching its state up from its own log (the sequencer's events, the
     registry's accounts) stops instead: its decisions need every event of that log.
   - The archive, a copy of the log, keeps it raw all the same (docs/archive.md).
   Records a reader needs that are in neither the log nor its archive stop the reader
   (`HistoryLostError`, `history`).
2. A transient error is retried: librdkafka retries fetches and sends itself (errors it
   reports on a record are logged, counted and passed over); an exception a call raises
   that is not fatal restarts the worker in place after a pause (`worker`), or, in an
   edge follower, polls again after a pause. The position is never advanced past
   anything not yet applied, so a retry repeats work and loses none.
3. Anything else (a fatal Kafka error, a failed store write, a bug in a handler) stops
   the worker without committing or storing the position of the batch: a process exits
   and is restarted by its supervisor; an edge node exits, because an edge whose state
   missed a record would serve wrong answers. Never "log and go on".
"""
