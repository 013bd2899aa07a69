"""`python -m edge.operator erase|redact ...`: the operator's command line for an erasure
(edge/erasure.py) or a redaction (edge/redaction.py), for deployments whose officers do not
use the compliance REST. It runs the same service functions as the REST, on the host of an
edge (it reads this host's history view and key store, and waits for outcomes on the edge
node's partition, PARLEY_EDGE_NODE), and prints the answer as JSON.

    python -m edge.operator erase --user U --officer O --case C [--erasure-id E]
    python -m edge.operator redact --conversation C --seq N --reason R --officer O --case C

Run an erasure again with its report's `--erasure-id` to finish one that was interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel

from edge.app import view_path
from edge.erasure import Erasures
from edge.errors import ClientError
from edge.log_bridge import CommandGateway
from edge.redaction import Redactions
from edge.settings import EdgeSettings
from edge.submission import Submitter
from edge.views import LazyHistory
from media.log import KafkaMediaLog, MediaLog
from schemas import models as m
from schemas.topics import declare_topics
from sealing.keystore import KeyStore, SqliteKeyStore
from telemetry.logs import configure_logging

T = TypeVar("T", bound=BaseModel)


async def with_submitter(settings: EdgeSettings, act: Callable[[Submitter], Awaitable[T]]) -> T:
    """`act` with a submitter whose outcomes this process follows, stopped afterwards."""
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    gateway = CommandGateway(
        settings.kafka_bootstrap,
        topics.outcomes,
        settings.edge_node,
        asyncio.get_running_loop(),
        skipped=lambda topic: None,
    )
    gateway.start()
    try:
        await gateway.follower.ready.wait()
        timeout_s = settings.request_timeout_s
        return await act(Submitter(topics=topics, gateway=gateway, timeout_s=timeout_s))
    finally:
        gateway.stop()


def host_erasures(
    submitter: Submitter, history: LazyHistory, keys: KeyStore, media_log: MediaLog
) -> Erasures:
    """Erasures as a process on an edge's host runs them: this host's history view and key
    store, the media topic; it caches no key, so it has none to forget."""

    async def conversations(user_id: str) -> list[str]:
        return list(await asyncio.to_thread(lambda: history.tenures(user_id)))

    async def media_sent_by(user_id: str, conversation_id: str) -> set[str]:
        return await asyncio.to_thread(history.media_sent_by, user_id, conversation_id)

    async def request_media_erasures(requests: list[m.MediaErasureRequested]) -> None:
        await asyncio.to_thread(media_log.append_all, requests)

    return Erasures(
        submitter=submitter,
        keys=keys,
        conversations=conversations,
        media_sent_by=media_sent_by,
        request_media_erasures=request_media_erasures,
        forget=lambda user_id: None,
    )


async def erase(settings: EdgeSettings, args: argparse.Namespace) -> BaseModel:
    history = LazyHistory(view_path(settings, "history"))
    keys = SqliteKeyStore(settings.key_store_path)
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    media_log = KafkaMediaLog(settings.kafka_bootstrap, topics.media)

    async def act(submitter: Submitter) -> BaseModel:
        erasures = host_erasures(submitter, history, keys, media_log)
        return await erasures.erase(args.officer, args.user, args.case, args.erasure_id)

    try:
        return await with_submitter(settings, act)
    finally:
        history.close()
        keys.close()
        media_log.close()


async def redact(settings: EdgeSettings, args: argparse.Namespace) -> BaseModel:
    async def act(submitter: Submitter) -> BaseModel:
        redactions = Redactions(submitter=submitter)
        return await redactions.redact(
            args.officer, args.conversation, args.seq, args.reason, args.case
        )

    return await with_submitter(settings, act)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m edge.operator", description=__doc__)
    actions = top.add_subparsers(dest="action", required=True)
    erasing = actions.add_parser("erase", help="erase a person (the right to be forgotten)")
    erasing.add_argument("--user", required=True, help="the person to erase")
    erasing.add_argument("--erasure-id", default=None, help="repeat an interrupted erasure")
    redacting = actions.add_parser("redact", help="remove one message's content everywhere")
    redacting.add_argument("--conversation", required=True)
    redacting.add_argument("--seq", required=True, type=int)
    redacting.add_argument("--reason", required=True)
    for action in (erasing, redacting):
        action.add_argument("--officer", required=True, help="who asks (recorded in the log)")
        action.add_argument("--case", required=True, help="the case reference")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging("parley-operator")
    run = erase if args.action == "erase" else redact
    try:
        answer = asyncio.run(run(EdgeSettings(), args))
    except ClientError as e:
        print(f"{args.action} refused: {e}", file=sys.stderr)
        return 2
    print(answer.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
