"""The search index's layout: its fields, the documents it holds, and how it is opened.

Two kinds of documents share one tantivy index, so that one commit writes both:

- a message: `conversation`, `seq`, `sender`, `stamp` (sent at, microseconds since the epoch,
  for date filters and newest-first order), `tags` ("link", "file"), `words` and `grams` (the
  folded text, analysed; not stored), `body` (the text as sent, stored for snippets and
  phrase checks, not indexed), `text_seq` (the seq of the event that wrote that text: the
  message's own, or its latest edit's);
- a record of the view itself, under `key`: `position/<partition>` (the next offset to read,
  the tracking record), `last_seq/<conversation>` (the last seq applied, for idempotency) and
  `ready` (the readiness marker, its JSON in `payload`). They have none of the message
  fields, so no search can match them: every search filters on `conversation`.
"""

from __future__ import annotations

from pathlib import Path

from tantivy import Index, Schema, SchemaBuilder

from projections.search import analyzers

CONVERSATION = "conversation"
SEQ = "seq"
SENDER = "sender"
STAMP = "stamp"
TAGS = "tags"
WORDS = "words"
GRAMS = "grams"
BODY = "body"
TEXT_SEQ = "text_seq"
KEY = "key"
VALUE = "value"
PAYLOAD = "payload"

LINK = "link"
FILE = "file"

POSITION = "position/"
LAST_SEQ = "last_seq/"
READY = "ready"

WRITER_HEAP_BYTES = 64_000_000
"""tantivy's indexing buffer; a batch that fills it is flushed to a segment before the commit
(still invisible until the commit)."""


def position_key(partition: int) -> str:
    return f"{POSITION}{partition}"


def last_seq_key(conversation_id: str) -> str:
    return f"{LAST_SEQ}{conversation_id}"


def build_schema() -> Schema:
    builder = SchemaBuilder()
    builder.add_text_field(CONVERSATION, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(SEQ, stored=True, indexed=True)
    builder.add_text_field(SENDER, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field(STAMP, stored=True, indexed=True, fast=True)
    builder.add_text_field(TAGS, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(WORDS, tokenizer_name=analyzers.WORDS, index_option="position")
    builder.add_text_field(GRAMS, tokenizer_name=analyzers.GRAMS, index_option="freq")
    builder.add_bytes_field(BODY, stored=True)
    builder.add_unsigned_field(TEXT_SEQ, stored=True)
    builder.add_text_field(KEY, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(VALUE, stored=True)
    builder.add_bytes_field(PAYLOAD, stored=True)
    return builder.build()


SCHEMA = build_schema()


def open_index(path: Path) -> Index:
    """The index at `path` (created if missing), with the view's analyzers registered: tantivy
    does not keep them across opens."""
    path.mkdir(parents=True, exist_ok=True)
    index = Index(SCHEMA, path=str(path), reuse=True)
    analyzers.register(index)
    return index
