"""Benchmarks anyone can rerun: fixed, named loads; JSON, plots and a one-line summary."""
