"""Builds the edge: Kafka followers, the service, REST and WebSocket routes, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from confluent_kafka import Consumer, Producer, TopicPartition

from edge import probes, web_client
from edge.account_service import AccountService
from edge.accounts import AccountDirectory
from edge.command_service import CommandService
from edge.compliance.audit import AuditLog
from edge.compliance.audit_reader import AuditReader
from edge.compliance.exports import ExportStore
from edge.compliance.jobs import ExportJobs
from edge.compliance.roles import ComplianceRoles
from edge.compliance.service import ComplianceService
from edge.compliance.settings import ComplianceSettings
from edge.connection import ConnectionState, DeviceConnection
from edge.erasure import Erasures
from edge.erasure_status import ErasureStatuses
from edge.hub import ConnectionHub, decode_delivery
from edge.inbox_push import InboxNotifier
from edge.lifetimes import MessageLifetimes
from edge.log_bridge import CommandGateway, LogFollower, decode_account_event
from edge.media_service import MediaService
from edge.media_watch import MediaWatch
from edge.metrics import EdgeMetrics
from edge.openapi import document
from edge.presence import PresenceBoard, TypingBoard
from edge.presence_scope import PresenceScope
from edge.protocol.answers import Health
from edge.protocol.pushes import Goodbye
from edge.read_service import ReadService
from edge.redaction import Redactions
from edge.rest import RestApi, errors_middleware, json_response, tracing_middleware
from edge.retention import Retentions
from edge.send_attempts import SendAttempts
from edge.settings import EdgeSettings
from edge.submission import Submitter
from edge.view_writes import ViewWrites
from edge.views import LazyHistory, LazyInbox, LazySearch
from edge.websocket import WebSocketEndpoint
from kafkalog import presets
from kafkalog.decoding import decode_session
from kafkalog.follower import Decoded
from kafkalog.window import offsets_at
from media.book import MediaBook
from media.log import KafkaMediaLog, decode_media_event
from media.settings import MediaSettings
from media.storage import ObjectStore
from media.uploads import UploadService
from objectstore.client import connect
from objectstore.settings import S3Settings
from projections.search.executor import SearchExecutor
from projections.search.query import MessageSearch
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics, declare_topics, session_key
from sealing.bodies import BodyOpener, MessageSealing, PlainMessages, SealedMessages
from sealing.lifetimes import LifetimeSettings
from sealing.names import Names
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing

log = logging.getLogger("parley.edge")
SESSION_REFRESH_S = 20.0
MEDIA_PRUNE_S = 600.0
MEDIA_MARGIN = timedelta(hours=1)
"""The media book reaches back an hour beyond the upload window (clocks disagree)."""
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
    app.on_response_prepare.append(web_client.header_adder(_page_headers()))
    return app


def _page_headers() -> web_client.Headers:
    """The page may talk to the object store the media settings name, and to nothing else."""
    return web_client.page_headers(S3Settings().s3_url)


async def _on_shutdown(app: web.Application) -> None:
    if HUB in app:
        await _say_goodbye(app[HUB], app[SETTINGS].drain_s)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    tracing = app[TRACING]
    loop = asyncio.get_running_loop()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    directory, opener, names = _sealed_directory(settings)
    roles = ComplianceRoles()
    metrics = EdgeMetrics(settings.edge_node)

    def lag() -> LagSampler:
        node = str(settings.edge_node)
        return LagSampler(metrics.consumer_lag, f"edge-{node}", labels={"node": node})

    def on_account(record: Decoded[AvroRecord]) -> None:
        roles.apply(record.value)
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
    hub.on_typing = TypingBoard(hub.devices_of).signal

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
    media, media_follower, stop_media = await _media(
        settings, topics, reads, metrics, lag(), names=names
    )
    commands.check_attachments = media.check_attachable
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
    compliance = _compliance(
        settings,
        topics,
        roles,
        _remedies(settings, topics, gateway, reads, opener, media=media, directory=directory),
    )
    for follower in (accounts, deliveries, sessions, media_follower):
        follower.start()
    gateway.start()
    await accounts.ready.wait()
    await media_follower.ready.wait()
    app.router.add_routes(
        [
            *RestApi(
                accounts=accounts_service,
                commands=commands,
                reads=reads,
                media=media,
                compliance=compliance,
            ).routes(),
            web.get("/v1/ws", websocket.handle),
            web.get("/openapi.json", lambda _: _openapi()),
            web.get("/healthz", lambda _: _health(hub)),
            *probes.routes(
                ready=lambda: deliveries.ready.is_set() and gateway.follower.ready.is_set()
            ),
            web.get("/metrics", lambda _: _metrics(metrics)),
            *web_client.routes(_page_headers()),
        ]
    )
    refresher = asyncio.create_task(_refresh_sessions(hub, producer, presence))
    log.info("edge node %d ready", settings.edge_node)
    yield
    refresher.cancel()
    await compliance.close()
    for follower in (accounts, deliveries, sessions, media_follower):
        follower.stop()
    stop_media()
    gateway.stop()
    producer.flush(5)
    for part in (reads, inbox_writes, commands):
        part.close()


def _sealed_directory(settings: EdgeSettings) -> tuple[AccountDirectory, BodyOpener, Names]:
    """The account directory, opening sealed names, the opener of sealed bodies, and the
    sealing of names (files' too): all over this host's key store."""
    sealer = settings.open_sealer()
    names = Names(sealer, sealing=settings.sealing == "on")
    return AccountDirectory(names=names), BodyOpener(sealer), names


def _lifetimes(settings: EdgeSettings, reads: ReadService) -> MessageLifetimes:
    """How long new messages live: the history view's settings and this deployment's
    choices and default (PARLEY_DISAPPEARING_CHOICES_MS, PARLEY_RETENTION_DAYS)."""
    own = LifetimeSettings()
    return MessageLifetimes(
        reads.lifetime,
        choices_ms=own.disappearing_choices_ms,
        default_days=own.retention_days,
        writes=ViewWrites(view_path(settings, "history")),
        expiry_of=reads.expiry_of,
    )


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
    index = LazySearch(view_path(settings, "search"))
    search = MessageSearch(index, history)
    reads = ReadService(
        opener=opener,
        history=history,
        inbox=LazyInbox(view_path(settings, "inbox")),
        searches=SearchExecutor(search.search, budget_s=settings.search_budget_s),
        index=index,
    )
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
            lifetimes=_lifetimes(settings, reads),
        ),
        reads,
    )


async def _media(
    settings: EdgeSettings,
    topics: Topics,
    reads: ReadService,
    metrics: EdgeMetrics,
    lag: LagSampler,
    *,
    names: Names,
) -> tuple[MediaService, LogFollower[m.MediaEvent], Callable[[], None]]:
    """Uploads and downloads: the upload service over this edge's book of the media topic
    (a follower from the window's start), the download authorization over the history
    view; and how to stop them."""
    media_settings = MediaSettings()
    storage = S3Settings()
    store = ObjectStore(connect(storage), storage.s3_bucket)
    window = timedelta(seconds=media_settings.unattached_ttl_s) + MEDIA_MARGIN
    starts = await asyncio.to_thread(
        offsets_at, settings.kafka_bootstrap, topics.media, datetime.now(UTC) - window
    )
    book = MediaBook()
    ends = Consumer(presets.private_reader(settings.kafka_bootstrap, presets.REPLAY, name="ends"))

    def end_of(partition: int) -> int:
        high: int = ends.get_watermark_offsets(
            TopicPartition(topics.media.name, partition), timeout=10
        )[1]
        return high

    watch = MediaWatch(book, topics.media.partitions, end_of)
    follower = LogFollower(
        settings.kafka_bootstrap,
        topics.media.name,
        list(range(topics.media.partitions)),
        from_end=False,
        start_at=starts,
        decode=decode_media_event,
        on_record=watch.on_record,
        skipped=metrics.skipped,
        loop=asyncio.get_running_loop(),
        lag=lag,
    )
    media_log = KafkaMediaLog(settings.kafka_bootstrap, topics.media)
    history_writes = ViewWrites(view_path(settings, "history"))
    service = MediaService(
        uploads=UploadService(
            store=store, book=book, log=media_log, settings=media_settings, names=names
        ),
        watch=watch,
        reads=reads,
        history_writes=history_writes,
        store=store,
        settings=media_settings,
    )
    pruner = asyncio.create_task(_prune_media(book, window))

    def stop() -> None:
        pruner.cancel()
        media_log.close()
        ends.close()
        history_writes.close()

    return service, follower, stop


async def _prune_media(book: MediaBook, window: timedelta) -> None:
    """Forgets media declared before the window: nothing asks about them any more."""
    while True:
        await asyncio.sleep(MEDIA_PRUNE_S)
        forgotten = book.prune(datetime.now(UTC) - window)
        if forgotten:
            log.info("media book: forgot %d media older than %s", forgotten, window)


@dataclass(frozen=True)
class Remedies:
    """The officers' actions on content: the same service functions the operator's command
    line runs (edge/operator.py)."""

    erasures: Erasures
    erasure_statuses: ErasureStatuses
    redactions: Redactions
    retentions: Retentions


def _remedies(
    settings: EdgeSettings,
    topics: Topics,
    gateway: CommandGateway,
    reads: ReadService,
    opener: BodyOpener,
    *,
    media: MediaService,
    directory: AccountDirectory,
) -> Remedies:
    """An erasure lists the person's conversations and files from the history view,
    destroys the key in this host's key store and drops it from this node's cache at once,
    and asks the media sweeper to delete the files through the media topic; its report is
    read back from the accounts topic's fold and counted in the views and the bucket."""
    submitter = Submitter(topics=topics, gateway=gateway, timeout_s=settings.request_timeout_s)
    return Remedies(
        erasures=Erasures(
            submitter=submitter,
            keys=opener.sealer.ring.store,
            conversations=reads.conversations_ever,
            media_sent_by=reads.media_sent_by,
            request_media_erasures=media.request_erasures,
            forget=opener.forget,
        ),
        erasure_statuses=ErasureStatuses(
            erasures=directory.erasures.get,
            keys=opener.sealer.ring.store,
            reads=reads,
            files=media.store,
        ),
        redactions=Redactions(submitter=submitter),
        retentions=Retentions(submitter=submitter),
    )


def _compliance(
    settings: EdgeSettings, topics: Topics, roles: ComplianceRoles, remedies: Remedies
) -> ComplianceService:
    """Officers' access: the roles folded from the accounts topic, the audit topic, the
    object store where exports go, and the actions on content (docs/compliance.md)."""
    own = ComplianceSettings()
    audit = AuditLog(settings.kafka_bootstrap, topics.audit)
    exports = ExportStore(own.object_store(), own.exports_prefix)
    return ComplianceService(
        roles=roles,
        audit=audit,
        audit_reader=AuditReader(settings.kafka_bootstrap, topics.audit),
        exports=exports,
        jobs=ExportJobs(store=exports, audit=audit),
        erasures=remedies.erasures,
        erasure_statuses=remedies.erasure_statuses,
        redactions=remedies.redactions,
        retentions=remedies.retentions,
        origin=f"edge-{settings.edge_node}",
        export_ttl_s=own.export_ttl_s,
        url_ttl_s=own.export_url_ttl_s,
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
