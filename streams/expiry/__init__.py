"""The expiry processor: messages whose lifetime has passed leave the log's readable copies."""
