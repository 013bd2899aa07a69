"""Processors that write the log: the sequencer is the only writer of the events topic."""
