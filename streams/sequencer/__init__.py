"""The conversation sequencer: commands in, dense per-conversation ordered events out."""
