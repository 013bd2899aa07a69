"""The local platform: a real Kafka broker (KRaft) and an S3 server, run as plain processes."""
