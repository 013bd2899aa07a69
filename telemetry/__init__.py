"""What every Parley process reports about itself: JSON logs, trace context, consumer lag.

A leaf beside `schemas/`: it knows no command, event or rule, and `streams/`,
`projections/` and `edge/` may all import it (tests/unit/test_layers.py), so that the log
format, the redaction rules and the trace-context codec are one implementation at both
ends of every Kafka record rather than three copies that can drift apart.
"""
