"""The account registry: account commands in, dense per-account ordered events out."""
