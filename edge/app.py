"""Builds the edge: Kafka followers, the service, REST and WebSocket routes, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from confluent_kafka import Producer

from edge import probes, web_client
from edge.account_service import AccountService
from edge.accounts import AccountDirectory
from edge.command_service import CommandService
from edge.connection import ConnectionState, DeviceConnection
from edge.hub import ConnectionHub, decode_delivery
from edge.inbox_push import InboxNotifier
from edge.log_bridge import CommandGateway, LogFollower, decode_account_event
from edge.metrics import EdgeMetrics
from edge.openapi import document
from edge.presence import PresenceBoard, TypingBoard
from edge.presence_scope import PresenceScope
from edge.protocol.answers import Health
from edge.protocol.pushes import Goodbye
from edge.read_service import ReadService
from edge.rest import RestApi, errors_middleware, json_response, tracing_middleware
from edge.send_attempts import SendAttempts
from edge.settings import EdgeSettings
from edge.submission import Submitter
from edge.view_writes import ViewWrites
from edge.views import LazyHistory, LazyInbox, LazySearch
from edge.websocket import WebSocketEndpoint
from kafkalog import presets
from kafkalog.decoding import decode_session
from kafkalog.follower import Decoded
from projections.search.executor import SearchExecutor
from projections.search.query import MessageSearch
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics, declare_topics, session_key
from sealing.bodies import BodyOpener, MessageSealing, PlainMessages, SealedMessages
from sealing.names import Names
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing

log = logging.getLogger("parley.edge")
SESSION_REFRESH_S = 20.0
SETTINGS = web.AppKey("settings", EdgeSettings)
TRACING = web.AppKey("tracing", Tracing)
HUB = web.AppKey("hub", ConnectionHub)


def view_path(settings: EdgeSettings, view: str) -> Path:
    """Where `python -m projections <view>` keeps its store on this host."""
    return settings.state_dir / f"{settings.topic_prefix}-{view}"


def build_app(settings: EdgeSettings, tracing: Tracing | None = None) -> web.Application:
    tracing = tracing or Tracing.off()
    traced = [tracing_middleware(tracing)] if tracing.enabled else []
    app = web.Application(
        middlewares=[*traced, errors_middleware],
        client_max_size=settings.max_frame_bytes,
        # A request line as long as a frame: `GET /v1/search` carries its query in the URL,
        # and a query over the search's own limit must reach it to be answered `invalid`.
        handler_args={"max_line_size": settings.max_frame_bytes},
    )
    app[SETTINGS] = settings
    app[TRACING] = tracing
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_on_shutdown)
    app.on_response_prepare.append(web_client.add_headers)
    return app


async def _on_shutdown(app: web.Application) -> None:
    if HUB in app:
        await _say_goodbye(app[HUB], app[SETTINGS].drain_s)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    tracing = app[TRACING]
    loop = asyncio.get_running_loop()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    sealer = settings.open_sealer()
    opener = BodyOpener(sealer)
    directory = AccountDirectory(names=Names(sealer, sealing=settings.sealing == "on"))
    metrics = EdgeMetrics(settings.edge_node)

    def lag() -> LagSampler:
        node = str(settings.edge_node)
        return LagSampler(metrics.consumer_lag, f"edge-{node}", labels={"node": node})

    def on_account(record: Decoded[AvroRecord]) -> None:
        for revoked in directory.apply(record.value):
            hub.disconnect_device(revoked)
        if isinstance(record.value, m.AccountErased):
            opener.forget(record.value.meta.user_id)

    accounts = LogFollower(
        settings.kafka_bootstrap,
        topics.accounts.name,
        list(range(topics.accounts.partitions)),
        from_end=False,
        decode=decode_account_event,
        on_record=on_account,
        skipped=metrics.skipped,
        loop=loop,
        lag=lag(),
    )
    gateway = CommandGateway(
        settings.kafka_bootstrap,
        topics.outcomes,
        settings.edge_node,
        loop,
        skipped=metrics.skipped,
        tracing=tracing,
        lag=lag(),
    )
    producer = Producer(presets.producer(settings.kafka_bootstrap, presets.LINGERING))
    hub = ConnectionHub(
        settings.edge_node,
        sessions=topics.sessions,
        deliveries=topics.deliveries,
        producer=producer,
        metrics=metrics,
        tracing=tracing,
        opener=opener,
    )
    metrics.measure_queues(
        lambda: sum(c.queued() for c in hub.connections()), lambda: len(gateway.waiting)
    )
    presence = PresenceBoard()
    typing = TypingBoard(hub.devices_of)
    hub.on_typing = typing.signal

    sessions = LogFollower(
        settings.kafka_bootstrap,
        topics.sessions.name,
        list(range(topics.sessions.partitions)),
        from_end=False,
        decode=decode_session,
        on_record=presence.on_record,
        skipped=metrics.skipped,
        loop=loop,
        committed_only=False,
        lag=lag(),
    )
    app[HUB] = hub
    # A first produce pays for metadata and the idempotent producer id; pay it now, not
    # while the first device's session record is racing its first message.
    producer.produce(
        topics.sessions.name, key=session_key("", settings.edge_node), value=None, partition=0
    )
    await asyncio.to_thread(producer.flush, 30)
    deliveries = LogFollower(
        settings.kafka_bootstrap,
        topics.deliveries.name,
        [settings.edge_node],
        from_end=True,
        decode=decode_delivery,
        on_record=hub.deliver_record,
        skipped=metrics.skipped,
        loop=loop,
        committed_only=False,
        lag=lag(),
    )
    accounts_service, commands, reads = _services(settings, topics, gateway, directory, opener)
    inbox_writes = ViewWrites(view_path(settings, "inbox"))
    hub.on_delivered = InboxNotifier(reads.fresh_inbox_entry, hub.devices_of, inbox_writes).changed
    hub.on_removed = PresenceScope(presence, reads.sharing_a_conversation, hub.devices_of).removed
    websocket = WebSocketEndpoint(
        accounts=accounts_service,
        commands=commands,
        reads=reads,
        hub=hub,
        max_frame_bytes=settings.max_frame_bytes,
        queue_size=settings.outbound_queue,
        heartbeat_s=settings.heartbeat_s,
        auth_timeout_s=settings.auth_timeout_s,
        metrics=metrics,
        presence=presence,
        typing_ttl_ms=settings.typing_ttl_ms,
        tracing=tracing,
    )
    for follower in (accounts, deliveries, sessions):
        follower.start()
    gateway.start()
    await accounts.ready.wait()
    app.router.add_routes(
        [
            *RestApi(accounts=accounts_service, commands=commands, reads=reads).routes(),
            web.get("/v1/ws", websocket.handle),
            web.get("/openapi.json", lambda _: _openapi()),
            web.get("/healthz", lambda _: _health(hub)),
            *probes.routes(
                ready=lambda: deliveries.ready.is_set() and gateway.follower.ready.is_set()
            ),
            web.get("/metrics", lambda _: _metrics(metrics)),
            *web_client.routes(),
        ]
    )
    refresher = asyncio.create_task(_refresh_sessions(hub, producer, presence))
    log.info("edge node %d ready", settings.edge_node)
    yield
    refresher.cancel()
    for follower in (accounts, deliveries, sessions):
        follower.stop()
    gateway.stop()
    producer.flush(5)
    reads.close()
    inbox_writes.close()


def _services(
    settings: EdgeSettings,
    topics: Topics,
    gateway: CommandGateway,
    directory: AccountDirectory,
    opener: BodyOpener,
) -> tuple[AccountService, CommandService, ReadService]:
    """What REST and the WebSocket serve: accounts, commands and reads. Plain text is
    sealed on the way in and opened on the way out (docs/compliance.md)."""
    on = settings.sealing == "on"
    sealing: MessageSealing = SealedMessages(opener.sealer) if on else PlainMessages()
    timeout_s = settings.request_timeout_s
    submitter = Submitter(topics=topics, gateway=gateway, timeout_s=timeout_s)
    history = LazyHistory(view_path(settings, "history"))
    search = MessageSearch(LazySearch(view_path(settings, "search")), history)
    return (
        AccountService(
            submitter=submitter,
            directory=directory,
            timeout_s=timeout_s,
            names=directory.names,
        ),
        CommandService(
            submitter=submitter,
            directory=directory,
            attempts=SendAttempts(horizon_s=settings.send_horizon_s),
            sealing=sealing,
        ),
        ReadService(
            opener=opener,
            history=history,
            inbox=LazyInbox(view_path(settings, "inbox")),
            searches=SearchExecutor(search.search, budget_s=settings.search_budget_s),
        ),
    )


async def _openapi() -> web.Response:
    return web.json_response(document())


async def _metrics(metrics: EdgeMetrics) -> web.Response:
    return web.Response(
        body=metrics.exposition(),
        content_type="text/plain",
        headers={"X-Prometheus-Format": "0.0.4"},
    )


async def _health(hub: ConnectionHub) -> web.Response:
    return json_response(200, Health(connections=len(hub.connections()), delivered=hub.delivered))


async def _refresh_sessions(
    hub: ConnectionHub, producer: Producer, presence: PresenceBoard
) -> None:
    """Keeps this node's session records alive, and ends others' that stopped refreshing."""
    while True:
        await asyncio.sleep(SESSION_REFRESH_S)
        try:
            hub.refresh_sessions()
            producer.poll(0)
            presence.expire()
        except Exception:
            log.exception("session refresh failed; retrying in %.0f s", SESSION_REFRESH_S)


async def _say_goodbye(hub: ConnectionHub, drain_s: float) -> None:
    """Tell every device to reconnect elsewhere, then close: graceful shutdown."""
    goodbye = Goodbye(reason="edge shutting down", reconnect_after_ms=500).model_dump_json()
    connections = hub.connections()
    for connection in connections:
        if connection.state is ConnectionState.OPEN:
            connection.reply(goodbye)
    await asyncio.sleep(min(drain_s, 0.2) if connections else 0)

    async def close(connection: DeviceConnection) -> None:
        with contextlib.suppress(Exception):
            await connection.close(flush_s=drain_s)
            await connection.ws.close()

    await asyncio.gather(*(close(c) for c in connections))
