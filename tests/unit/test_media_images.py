"""Images: upright, two sizes, nothing personal left in any rendition, bombs refused early."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from media.errors import MediaError
from media.settings import MediaSettings
from schemas.models import MediaErrorCode, MediaVariantName
from streams.media import placeholder
from streams.media.images import ImageMaker, ImageResult
from tests import media_files as f

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def make(tmp_path: Path, data: bytes, settings: MediaSettings | None = None) -> ImageResult:
    source = tmp_path / "upload"
    source.write_bytes(data)
    return ImageMaker(settings or MediaSettings()).make(source, tmp_path)


def near(color: object, expected: tuple[int, int, int]) -> bool:
    assert isinstance(color, tuple), color
    return all(abs(a - b) < 40 for a, b in zip(color[:3], expected, strict=True))


def opened(path: Path) -> Image.Image:
    return Image.open(io.BytesIO(path.read_bytes()))


@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [
        (1, (640, 480), "left"),
        (3, (640, 480), "right"),  # rotated 180
        (6, (480, 640), "top"),  # stored landscape, shown turned clockwise
        (8, (480, 640), "bottom"),  # turned counter-clockwise
    ],
)
def test_exif_orientation_is_applied(
    tmp_path: Path, orientation: int, size: tuple[int, int], red_at: str
) -> None:
    made = make(tmp_path, f.camera_jpeg(640, 480, orientation=orientation))
    assert (made.width, made.height) == size
    for rendition in made.renditions:
        image = opened(rendition.path).convert("RGB")
        w, h = image.size
        probes = {
            "left": (2, h // 2),
            "right": (w - 3, h // 2),
            "top": (w // 2, 2),
            "bottom": (w // 2, h - 3),
        }
        opposite = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}[red_at]
        assert near(image.getpixel(probes[red_at]), RED), (rendition.name, orientation)
        assert near(image.getpixel(probes[opposite]), BLUE), (rendition.name, orientation)


def test_two_sizes_on_the_longest_side_never_enlarged(tmp_path: Path) -> None:
    made = make(tmp_path, f.camera_jpeg(3000, 2000))
    sizes = {r.name: opened(r.path).size for r in made.renditions}
    assert sizes[MediaVariantName.ORIGINAL] == (3000, 2000)
    assert sizes[MediaVariantName.THUMBNAIL] == (320, 213)
    assert sizes[MediaVariantName.PREVIEW] == (1280, 853)
    small = make(tmp_path, f.camera_jpeg(200, 100))
    assert {r.name: opened(r.path).size for r in small.renditions}[MediaVariantName.PREVIEW] == (
        200,
        100,
    )


def test_no_exif_gps_xmp_or_camera_is_left_in_anything_served(tmp_path: Path) -> None:
    original = f.camera_jpeg(orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the input has GPS
    made = make(tmp_path, original)
    assert {r.name for r in made.renditions} == {
        MediaVariantName.ORIGINAL,
        MediaVariantName.THUMBNAIL,
        MediaVariantName.PREVIEW,
    }
    for rendition in made.renditions:
        data = rendition.path.read_bytes()
        image = Image.open(io.BytesIO(data))
        assert dict(image.getexif()) == {}, rendition.name
        assert image.getexif().get_ifd(0x8825) == {}, rendition.name
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info), image.info
        assert b"ParleyCam" not in data and b"GPSLatitude" not in data and b"Exif" not in data


def test_png_text_and_gif_comments_are_dropped(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "48.8577N 2.2950E")
    png = io.BytesIO()
    f.two_tone(64, 48).save(png, "PNG", pnginfo=info)
    gif = io.BytesIO()
    f.two_tone(64, 48).convert("P").save(gif, "GIF", comment=b"48.8577N 2.2950E")
    for data in (png.getvalue(), gif.getvalue(), f.animated_gif()):
        for rendition in make(tmp_path, data).renditions:
            assert b"48.8577N" not in rendition.path.read_bytes()


def test_an_animated_gif_keeps_its_frames(tmp_path: Path) -> None:
    made = make(tmp_path, f.animated_gif(frames=4))
    original = next(r for r in made.renditions if r.name is MediaVariantName.ORIGINAL)
    assert original.content_type == "image/gif"
    assert getattr(opened(original.path), "n_frames", 1) == 4


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = f.png_bomb(10_000)  # 97 KB that decode to 100 megapixels
    assert len(bomb) < 200_000
    with pytest.raises(MediaError) as refused:
        make(tmp_path, bomb)
    assert refused.value.code is MediaErrorCode.DECOMPRESSION_BOMB


def test_a_side_over_the_limit_is_refused_even_with_few_pixels(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as refused:
        make(tmp_path, f.png_bomb(600), MediaSettings(max_image_side=500))
    assert refused.value.code is MediaErrorCode.DECOMPRESSION_BOMB


def test_too_many_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as refused:
        make(tmp_path, f.animated_gif(frames=6), MediaSettings(max_frames=5))
    assert refused.value.code is MediaErrorCode.DECOMPRESSION_BOMB


def test_a_truncated_image_is_corrupt(tmp_path: Path) -> None:
    data = f.camera_jpeg()
    with pytest.raises(MediaError) as refused:
        make(tmp_path, data[: len(data) // 2])
    assert refused.value.code is MediaErrorCode.CORRUPT


def test_the_placeholder_paints_the_image_blurred(tmp_path: Path) -> None:
    made = make(tmp_path, f.camera_jpeg(400, 300))
    assert 20 <= len(made.placeholder) <= 40
    painted = placeholder.decode(made.placeholder, 32, 24)
    assert near(painted.getpixel((2, 12)), RED)
    assert near(painted.getpixel((29, 12)), BLUE)
