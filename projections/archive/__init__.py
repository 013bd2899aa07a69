"""The cold archive: every record of the events and accounts topics as Parquet on S3.

The writer (`writer.py`) is driven by records, whoever consumes them; what S3 holds is its
position (`chain.py`). Readers replay it in order (`reader.py`). See docs/archive.md.
"""
