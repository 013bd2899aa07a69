"""Real files for the media tests, made on the spot: photos with EXIF and GPS, polyglots, bombs.

Everything is built with the libraries that read it (Pillow, zipfile, zlib), so a test's
input is a file a camera, an archiver or an attacker could have produced.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from datetime import UTC, datetime

from PIL import ExifTags, Image

from schemas import models as m

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
"""The antivirus test file: every scanner reports it, nothing runs it."""
GPS: dict[int, object] = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (48.0, 51.0, 24.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (2.0, 21.0, 5.0),
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def two_tone(width: int, height: int) -> Image.Image:
    """Red left half, blue right half: an orientation is visible in where the red ends up."""
    image = Image.new("RGB", (width, height), (220, 20, 20))
    image.paste((20, 20, 220), (width // 2, 0, width, height))
    return image


def camera_jpeg(width: int = 640, height: int = 480, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF orientation, camera make, GPS position, XMP."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "ParleyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(GPS)
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>48,51.4N</exif:GPSLatitude>'
    xmp += b"</x:xmpmeta>"
    two_tone(width, height).save(out, "JPEG", quality=90, exif=exif, xmp=xmp)
    return out.getvalue()


def image_bytes(fmt: str, width: int = 64, height: int = 48, **options: object) -> bytes:
    out = io.BytesIO()
    two_tone(width, height).save(out, fmt, **options)
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    images = [two_tone(32, 32).rotate(90 * i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def iso_media(mdat_bytes: int = 5000) -> bytes:
    """The top-level shape of an MP4: ftyp, a free box, mdat, moov (contents not playable)."""
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
    return (
        ftyp + box(b"free", b"") + box(b"mdat", b"\x00" * mdat_bytes) + box(b"moov", b"\x01" * 64)
    )


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def png_bomb(side: int) -> bytes:
    """A grey PNG of side x side pixels, all zero: a few hundred KiB that decode to side^2 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte, then the row
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def gif_javascript_polyglot() -> bytes:
    """Valid GIF header whose width bytes open a JavaScript comment: `GIF89a/*...*/=alert(1);`."""
    image = bytearray(image_bytes("GIF", 8, 8))
    image[6:8] = b"/*"
    return bytes(image[:-1]) + b"*/=alert(document.domain);"


def message_attaching(*media_ids: str, at: datetime | None = None) -> m.MessageSent:
    """What the sequencer writes for a message with these attachments (phase 2)."""
    return m.MessageSent(
        meta=m.EventMeta(
            event_id="e1",
            conversation_id="dm-ana-bo",
            seq=1,
            actor=m.Actor(user_id="ana", device_id="ana-phone"),
            client_msg_id="k1",
            command_id="c1",
            occurred_at=at or datetime.now(UTC),
        ),
        body=m.PlainBody(text="look"),
        attachments=tuple(
            m.Attachment(media_id=i, content_type="image/jpeg", size_bytes=1, sha256="0")
            for i in media_ids
        ),
    )
