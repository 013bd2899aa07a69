"""The only code that talks to clients: REST control plane, WebSocket data plane, fan-out."""
