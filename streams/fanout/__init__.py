"""Fan-out: from the events topic to the edge nodes where members are online."""
