"""The media processor: scans each verified upload and publishes what clients are served."""
