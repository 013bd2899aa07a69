"""Read models built from the events topic; each view follows the log in its own group."""
