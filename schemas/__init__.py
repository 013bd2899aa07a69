"""The contract: Avro schemas, the typed records that mirror them, topics, codec, domain errors."""
