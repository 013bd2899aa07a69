"""Images: a cleaned original, a thumbnail and a preview, dimensions and a BlurHash (Pillow).

Everything served is re-encoded from pixels alone: EXIF (with its GPS position, camera and
serial numbers), XMP, IPTC, comments and text chunks never reach anyone, and neither does
anything hidden in the original's byte stream. The EXIF orientation is applied first, so
what is served stands upright without it. Only the colour profile is kept (it is not
personal, and without it colours shift).

Decompression bombs (a few KB that decode to gigabytes) are refused from the header alone,
before a pixel is decoded: width x height over `max_image_pixels`, a side over
`max_image_side`, or too many frames. Pillow's own guard (Image.MAX_IMAGE_PIXELS) is set to
the same limit as a second line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from media.errors import MediaError
from media.settings import MediaSettings
from schemas.models import MediaErrorCode, MediaVariantName
from streams.media import placeholder

ALPHA_MODES = ("RGBA", "LA", "P", "PA")
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True)
class Rendition:
    """A file made for serving, not yet published."""

    name: MediaVariantName
    path: Path
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ImageResult:
    width: int
    height: int
    placeholder: str
    renditions: tuple[Rendition, ...]


class ImageMaker:
    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        Image.MAX_IMAGE_PIXELS = settings.max_image_pixels

    def make(self, source: Path, out_dir: Path, *, keep_original: bool = True) -> ImageResult:
        """Renditions of `source`; a poster frame passes keep_original=False (the poster is
        published as POSTER by the caller, from the preview's pixels).

        Each size is made from the next larger one (original, preview, thumbnail, the
        BlurHash's 32 pixels), so a 12-megapixel photo is scaled down in full only once."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(source) as image:
                    self._check_size(image)
                    animated = getattr(image, "n_frames", 1) > 1
                    upright = ImageOps.exif_transpose(image)  # always a copy of its own
                    upright.info = {}  # Pillow writes some `info` back out (a GIF comment)
                    upright.load()
                    original = (
                        self._original(image, upright, animated, out_dir) if keep_original else None
                    )
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise MediaError(MediaErrorCode.DECOMPRESSION_BOMB, str(e)) from e
        except DECODE_ERRORS as e:
            raise MediaError(MediaErrorCode.CORRUPT, f"the image does not decode: {e}") from e
        preview, larger = _scaled(
            upright, MediaVariantName.PREVIEW, self.settings.preview_px, out_dir
        )
        thumbnail, smaller = _scaled(
            larger, MediaVariantName.THUMBNAIL, self.settings.thumbnail_px, out_dir
        )
        renditions = [r for r in (original, thumbnail, preview) if r is not None]
        return ImageResult(
            width=upright.width,
            height=upright.height,
            placeholder=placeholder.encode(smaller),
            renditions=tuple(renditions),
        )

    def _check_size(self, image: Image.Image) -> None:
        s = self.settings
        width, height = image.size
        frames = getattr(image, "n_frames", 1)
        if width * height > s.max_image_pixels or max(width, height) > s.max_image_side:
            reason = f"{width}x{height} pixels; the limit is {s.max_image_pixels}"
            raise MediaError(MediaErrorCode.DECOMPRESSION_BOMB, reason)
        if frames > s.max_frames or frames * width * height > 4 * s.max_image_pixels:
            reason = f"{frames} frames of {width}x{height}"
            raise MediaError(MediaErrorCode.DECOMPRESSION_BOMB, reason)

    def _original(
        self, image: Image.Image, upright: Image.Image, animated: bool, out_dir: Path
    ) -> Rendition:
        """The cleaned full-size copy, in the original's format family."""
        path = out_dir / "original"
        icc = image.info.get("icc_profile")
        if animated:
            frames = []
            for frame in ImageSequence.Iterator(image):
                frames.append(frame.copy())
                frames[-1].info = {}
            duration = image.info.get("duration", 100)
            frames[0].save(
                path, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=duration
            )
            return Rendition(MediaVariantName.ORIGINAL, path, "image/gif", "gif", *image.size)
        extras = {"icc_profile": icc} if icc else {}
        if image.format == "PNG" or upright.mode in ALPHA_MODES:
            upright.save(path, "PNG", optimize=True, **extras)
            kind, extension = "image/png", "png"
        else:
            rgb = upright if upright.mode == "RGB" else upright.convert("RGB")
            rgb.save(path, "JPEG", quality=90, progressive=True, **extras)
            kind, extension = "image/jpeg", "jpg"
        return Rendition(MediaVariantName.ORIGINAL, path, kind, extension, *upright.size)


def _scaled(
    pixels: Image.Image, name: MediaVariantName, side: int, out_dir: Path
) -> tuple[Rendition, Image.Image]:
    """A WebP of at most `side` pixels on the longest edge (never enlarged), and its pixels."""
    small = pixels.convert("RGBA" if pixels.mode in ALPHA_MODES else "RGB")
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    path = out_dir / name.value.lower()
    small.save(path, "WEBP", quality=80, method=4)
    return Rendition(name, path, "image/webp", "webp", small.width, small.height), small
