"""The edge's settings, from PARLEY_* environment variables (the broker, topics and state
directory are every process's: kafkalog/settings.py; the key store and sealing:
sealing/settings.py)."""

from __future__ import annotations

from pydantic import Field

from sealing.settings import SealingSettings


class EdgeSettings(SealingSettings):
    edge_node: int = Field(default=0, ge=0, description="Index: its outcomes/deliveries partition")
    edge_host: str = "127.0.0.1"
    edge_port: int = Field(default=8080, ge=0)
    max_frame_bytes: int = Field(default=256 * 1024, ge=1024)
    outbound_queue: int = Field(default=1000, ge=10, description="Frames queued per connection")
    heartbeat_s: float = Field(default=20.0, gt=0)
    auth_timeout_s: float = Field(default=10.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    send_horizon_s: float = Field(
        default=120.0,
        gt=0,
        description="How long a send's command waits for its outcome; retries join it meanwhile",
    )
    search_budget_s: float = Field(
        default=1.0, gt=0, description="A search's time budget, queueing included; past it: timeout"
    )
    typing_ttl_ms: int = Field(default=6000, ge=500, description="Typing ends unless refreshed")
    drain_s: float = Field(default=2.0, ge=0, description="Grace on shutdown")
