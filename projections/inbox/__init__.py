"""The inbox and read-watermark view: per person, their conversations by last activity,
with a preview of the last message and unread and mention counts derived from read
watermarks and message seqs (never from counters), and per member read and delivered
watermarks for receipts. The process is `python -m projections inbox`; the edge reads it
through `projections.inbox.query.InboxReader`.
"""
