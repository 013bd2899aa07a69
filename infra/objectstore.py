"""The local S3-compatible server (s3proxy, filesystem backend), and the bucket Parley uses."""

from __future__ import annotations

import re
from typing import Any

from infra import jars
from infra.processes import ManagedProcess, port_answers
from infra.settings import PlatformSettings
from objectstore.client import connect
from objectstore.settings import S3Settings

LOGBACK = """<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} -- %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="out"/></root>
</configuration>
"""

UNFINISHED_WRITE = re.compile(
    r"(?P<key>.+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def unfinished_write(key: str) -> str | None:
    """The key a write was for, when `key` is what s3proxy left of it when stopped mid-write.

    Its filesystem store writes `<key>-<uuid>` and renames it to `<key>` when done, and
    lists that temporary file like any object; a real S3 never shows a write before it is
    complete. Only a listing of the local server, after it was killed, ever has one."""
    found = UNFINISHED_WRITE.fullmatch(key)
    return found.group("key") if found else None


class LocalObjectStore:
    """Runs s3proxy with its data under the data dir, so a restart keeps every object."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "s3"
        self.process = ManagedProcess(
            "s3proxy", settings.data_dir / "run", settings.data_dir / "logs"
        )

    def start(self) -> None:
        if self.process.is_running():
            return
        self.process.start(
            self.argv(), ports=[self.settings.s3_port], ready=self.ready, timeout_s=60
        )

    def argv(self) -> list[str]:
        """The server's command line, its data directory and configuration written."""
        s = self.settings
        classpath = str(jars.fetch("s3proxy", s.jar_cache) / "*")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        config = self.root / "s3proxy.conf"
        config.write_text(
            "\n".join(
                [
                    f"s3proxy.endpoint=http://127.0.0.1:{s.s3_port}",
                    "s3proxy.authorization=aws-v2-or-v4",
                    f"s3proxy.identity={s.s3_access_key}",
                    f"s3proxy.credential={s.s3_secret_key}",
                    # The browser client PUTs and GETs through pre-signed URLs from its own
                    # origin (docs/web-client.md, "Photos, videos and files"). Chromium names
                    # the headers of a preflight in lower case, which s3proxy compares exactly.
                    "s3proxy.cors-allow-origins=" + s.s3_cors_origins.replace("\\", "\\\\"),
                    "s3proxy.cors-allow-methods=GET PUT HEAD",
                    "s3proxy.cors-allow-headers=Content-Type content-type",
                    "s3proxy.cors-exposed-headers=ETag",
                    "jclouds.provider=filesystem",
                    f"jclouds.filesystem.basedir={self.root / 'data'}",
                    "",
                ]
            )
        )
        # s3proxy's jar carries no logging configuration, so logback's default (DEBUG, every
        # Jetty buffer) would write gigabytes under upload traffic and slow the server down.
        logging = self.root / "logback.xml"
        logging.write_text(LOGBACK)
        return [
            jars.require_tool("java", "run the S3 server"),
            "-Xmx256m",
            f"-Dlogback.configurationFile={logging}",
            "-cp",
            classpath,
            "org.gaul.s3proxy.Main",
            "--properties",
            str(config),
        ]

    def ready(self) -> bool:
        if not port_answers(self.settings.s3_port):
            return False
        try:
            connect(self.settings).list_buckets()
        except Exception:
            return False
        return True


def ensure_bucket(settings: S3Settings, bucket: str | None = None) -> None:
    from botocore.exceptions import ClientError

    client = connect(settings)
    name = bucket or settings.s3_bucket
    try:
        client.head_bucket(Bucket=name)
    except ClientError as e:
        code: Any = e.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        client.create_bucket(Bucket=name)
