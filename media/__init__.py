"""Media uploads, shared by the edge and the media processor: declaring, pre-signing, resuming and
verifying uploads to object storage, and the media lifecycle folded from the media topic
(docs/media.md)."""
