"""Sealing personal data at rest, and the keys whose destruction erases it (crypto-shredding):
a leaf shared by the edge (seals and opens), the search view (opens), and the erasure and
expiry processors (destroy keys), which may not import one another (docs/compliance.md)."""
