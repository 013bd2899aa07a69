"""Parley's published protocol, version 1: every model a client sends or receives.

`frames` (data-plane requests), `control` (control-plane request bodies), `answers` (what
each request is answered with), `events` (the log's events as clients see them), `pushes`
(the frames the edge sends), `media` (uploads and downloads over the control plane).
Clients (client/, and any other) import only this package;
docs/protocol.md's reference section is generated from it (`python -m edge.protocol_doc`).
"""
