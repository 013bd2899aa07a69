"""`python -m edge.erase --user U --officer O --case C`: the operator's command line for an
erasure (edge/erasure.py), for deployments whose officers do not use the compliance REST.
It runs the same service function as the REST, on the host of an edge (it reads this host's
history view and key store), and prints the erasure report as JSON. Run it again with the
report's `--erasure-id` to finish an erasure that was interrupted."""

from __future__ import annotations

import argparse
import asyncio
import sys

from edge.app import view_path
from edge.erasure import ErasureReport, Erasures
from edge.errors import ClientError
from edge.log_bridge import CommandGateway
from edge.settings import EdgeSettings
from edge.submission import Submitter
from edge.views import LazyHistory
from schemas.topics import declare_topics
from sealing.keystore import SqliteKeyStore
from telemetry.logs import configure_logging


async def erase(
    settings: EdgeSettings, officer: str, user: str, case: str, erasure_id: str | None
) -> ErasureReport:
    loop = asyncio.get_running_loop()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    gateway = CommandGateway(
        settings.kafka_bootstrap,
        topics.outcomes,
        settings.edge_node,
        loop,
        skipped=lambda topic: None,
    )
    history = LazyHistory(view_path(settings, "history"))
    keys = SqliteKeyStore(settings.key_store_path)
    gateway.start()
    try:
        await gateway.follower.ready.wait()

        async def conversations(user_id: str) -> list[str]:
            return list(await asyncio.to_thread(lambda: history.tenures(user_id)))

        erasures = Erasures(
            submitter=Submitter(
                topics=topics, gateway=gateway, timeout_s=settings.request_timeout_s
            ),
            keys=keys,
            conversations=conversations,
            forget=lambda user_id: None,  # this process caches no key
        )
        return await erasures.erase(officer, user, case, erasure_id)
    finally:
        gateway.stop()
        history.close()
        keys.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.erase", description=__doc__)
    parser.add_argument("--user", required=True, help="the person to erase")
    parser.add_argument("--officer", required=True, help="who asks (recorded in the log)")
    parser.add_argument("--case", required=True, help="the case reference")
    parser.add_argument("--erasure-id", default=None, help="repeat an interrupted erasure")
    args = parser.parse_args(argv)
    configure_logging("parley-erase")
    try:
        report = asyncio.run(
            erase(EdgeSettings(), args.officer, args.user, args.case, args.erasure_id)
        )
    except ClientError as e:
        print(f"erasure refused: {e}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
