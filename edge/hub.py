"""Who is connected to this edge node, and pushing deliveries to them.

The hub also keeps the session directory told: the first device of a user on this node
publishes `UserOnNode`, the last one leaving publishes a tombstone, and a refresh keeps
entries alive (an edge that dies stops refreshing, and fan-out stops routing to it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast, get_args

from confluent_kafka import Message, Producer
from opentelemetry.context import Context

from edge.connection import DeviceConnection
from edge.errors import DEVICE_REVOKED
from edge.event_views import visible_view
from edge.metrics import EdgeMetrics
from edge.protocol.pushes import EventPush
from kafkalog.decoding import decode_value
from kafkalog.follower import Decoded
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import REPLAYED_HEADER, TopicSpec, session_key
from sealing.bodies import BodyOpener
from telemetry.tracing import HeaderPairs, Tracing, extract

log = logging.getLogger("parley.edge")
SESSION_TTL = timedelta(seconds=60)
EVENT_TYPES: tuple[type, ...] = get_args(m.Event)


@dataclass(frozen=True)
class DecodedDelivery:
    """A delivery record and the event inside it, both decoded in the follower's thread."""

    delivery: m.EventDelivery
    event: m.Event


def decode_delivery(record: Message) -> DecodedDelivery | m.TypingSignal:
    """A record of this node's deliveries partition; an event this node's schemas do not
    know (a newer fan-out) is unusable here, and kafkalog's policy skips it."""
    found = decode_value(record.value() or b"", (m.EventDelivery, m.TypingSignal), "a delivery")
    if isinstance(found, m.TypingSignal):
        return found
    delivery = cast(m.EventDelivery, found)
    event = cast(m.Event, decode_value(delivery.event, EVENT_TYPES, "an event"))
    return DecodedDelivery(delivery, event)


class ConnectionHub:
    def __init__(
        self,
        node: int,
        *,
        sessions: TopicSpec,
        deliveries: TopicSpec,
        producer: Producer,
        metrics: EdgeMetrics,
        tracing: Tracing | None = None,
        opener: BodyOpener | None = None,
    ) -> None:
        self.metrics = metrics
        self.opener = opener
        """Opens sealed bodies for the pushes (None: a log that holds none)."""
        self.tracing = tracing or Tracing.off()
        self.node = node
        self.sessions = sessions
        self.deliveries = deliveries
        self.producer = producer
        self.by_user: dict[str, set[DeviceConnection]] = defaultdict(set)
        self.delivered = 0
        self.on_delivered: Callable[[str, str, int], None] | None = None
        """Told (user, conversation, seq) after an event reached the user's devices here."""
        self.on_typing: Callable[[m.TypingSignal], None] | None = None
        self.on_removed: Callable[[str, str], None] | None = None
        """Told (conversation, user) when a `MemberRemoved` reaches this node."""

    def add(self, connection: DeviceConnection) -> None:
        devices = self.by_user[connection.user_id]
        devices.add(connection)
        self.metrics.connections.inc()
        self.publish(connection.user_id)

    def remove(self, connection: DeviceConnection) -> None:
        devices = self.by_user.get(connection.user_id)
        if devices is None or connection not in devices:
            return
        devices.discard(connection)
        self.metrics.connections.dec()
        if not devices:
            del self.by_user[connection.user_id]
        self.publish(connection.user_id)

    def devices_of(self, user_id: str) -> Collection[DeviceConnection]:
        """The user's connected devices on this node (none: empty)."""
        return self.by_user.get(user_id, ())

    def connections(self) -> list[DeviceConnection]:
        return [c for devices in self.by_user.values() for c in devices]

    def disconnect_device(self, device_id: str) -> None:
        """A revoked device's open sockets close at once, with the reason."""
        goodbye = DEVICE_REVOKED.frame(None).model_dump_json()
        for connection in self.connections():
            if connection.device_id == device_id:
                connection.reply(goodbye)
                asyncio.get_running_loop().create_task(connection.ws.close())

    def refresh_sessions(self) -> None:
        for user in self.by_user:
            self.publish(user)

    def deliver_record(self, record: Decoded[DecodedDelivery | m.TypingSignal]) -> None:
        pushed = record.value
        if isinstance(pushed, DecodedDelivery):
            headers = record.record.headers()
            trace = headers if isinstance(headers, list) else None
            self.deliver(pushed.delivery, trace, pushed.event)
        elif self.on_typing is not None:
            self.on_typing(pushed)

    def deliver(
        self,
        delivery: m.EventDelivery,
        headers: HeaderPairs | None = None,
        event: m.Event | None = None,
    ) -> None:
        """Queue the event to every device of its recipients here. A delivery that carries
        a trace gets one span per device, ended as the push is queued; one that carries
        none (a replay to a device just come online) starts no trace of its own. `event`:
        the delivery's event, if already decoded."""
        if event is None:
            event = cast(m.Event, codec.decode(delivery.event))
        occurred_at = event.meta.occurred_at.timestamp()
        frames: dict[bool, str] = {}
        private = isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_ME
        pushed = 0
        parent = extract(headers) if self.tracing.enabled else None
        for user in delivery.recipients:
            devices = self.by_user.get(user)
            if not devices:
                continue
            own = not private or user == event.meta.actor.user_id
            if own not in frames:
                frames[own] = self._frame(delivery, event, user)
            for connection in devices:
                dropped = connection.dropped
                connection.push(frames[own])
                self.delivered += 1
                if connection.dropped > dropped:
                    self.metrics.dropped.inc()
                else:
                    self.metrics.pushes.inc()
                    pushed += 1
                if parent is not None:
                    self._trace_push(parent, delivery, connection, connection.dropped > dropped)
            if self.on_delivered is not None:
                self.on_delivered(user, delivery.conversation_id, delivery.seq)
        if isinstance(event, m.MemberRemoved) and self.on_removed is not None:
            self.on_removed(delivery.conversation_id, event.user_id)
        if pushed and not (headers and any(name == REPLAYED_HEADER for name, _ in headers)):
            self.metrics.delivery.observe(max(time.time() - occurred_at, 0.0))

    def _trace_push(
        self,
        parent: Context,
        delivery: m.EventDelivery,
        connection: DeviceConnection,
        dropped: bool,
    ) -> None:
        span = self.tracing.span(
            "push",
            parent,
            {
                "parley.conversation": delivery.conversation_id,
                "parley.seq": delivery.seq,
                "parley.user": connection.user_id,
                "parley.device": connection.device_id,
                "parley.node": self.node,
                "parley.dropped": dropped,
            },
        )
        span.end()

    def _frame(self, delivery: m.EventDelivery, event: m.Event, viewer: str) -> str:
        if self.opener is not None:
            event = self.opener.event(event)
        return EventPush(
            conversation_id=delivery.conversation_id,
            seq=delivery.seq,
            event=visible_view(event, viewer),
        ).model_dump_json()

    def relay_typing(self, node: int, signal: m.TypingSignal) -> None:
        self.producer.produce(self.deliveries.name, value=codec.encode(signal), partition=node)
        self.producer.poll(0)

    def publish(self, user_id: str) -> None:
        """This node's session record for the user: how many devices, how many not away."""
        devices = self.devices_of(user_id)
        key = session_key(user_id, self.node)
        value: bytes | None = None
        if devices:
            value = codec.encode(
                m.UserOnNode(
                    user_id=user_id,
                    node=self.node,
                    devices=len(devices),
                    active_devices=sum(not c.away for c in devices),
                    expires_at=datetime.now(UTC) + SESSION_TTL,
                )
            )
        self.producer.produce(
            self.sessions.name,
            key=key,
            value=value,
            partition=partition_for(user_id, self.sessions.partitions),
        )
