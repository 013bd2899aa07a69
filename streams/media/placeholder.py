"""A BlurHash: 20-odd characters a client paints as a blurred preview before the image arrives.

The encoding is Wolt's (https://blurha.sh): a few cosine components of the image in linear
light, quantised into base 83. Short enough to travel inside the message event, so a
conversation lays out its photos at their final size before any of them is downloaded.
"""

from __future__ import annotations

import math

from PIL import Image

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
SAMPLE_PX = 32
"""The image is shrunk to this before encoding: the hash keeps only low frequencies anyway."""


def encode(image: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    small = image.convert("RGB")
    small.thumbnail((SAMPLE_PX, SAMPLE_PX), Image.Resampling.BOX)
    width, height = small.size
    raw = small.tobytes()
    pixels = [tuple(_to_linear(c) for c in raw[i : i + 3]) for i in range(0, len(raw), 3)]
    factors = []
    for j in range(y_components):
        for i in range(x_components):
            factors.append(_component(pixels, width, height, i, j))
    dc, ac = factors[0], factors[1:]
    out = _base83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        actual = max(abs(v) for f in ac for v in f)
        quantised = max(0, min(82, math.floor(actual * 166 - 0.5)))
        maximum = (quantised + 1) / 166
        out += _base83(quantised, 1)
    else:
        maximum = 1.0
        out += _base83(0, 1)
    r, g, b = (_to_srgb(v) for v in dc)
    out += _base83((r << 16) + (g << 8) + b, 4)
    for factor in ac:
        q = [max(0, min(18, math.floor(_sign_pow(v / maximum, 0.5) * 9 + 9.5))) for v in factor]
        out += _base83(q[0] * 19 * 19 + q[1] * 19 + q[2], 2)
    return out


def decode(blurhash: str, width: int, height: int) -> Image.Image:
    """The blurred image a client would paint (what a Python client does with the hash)."""
    size = _unbase83(blurhash[0])
    x_components, y_components = size % 9 + 1, size // 9 + 1
    if len(blurhash) != 4 + 2 * x_components * y_components:
        raise ValueError(f"a {x_components}x{y_components} BlurHash has another length")
    maximum = (_unbase83(blurhash[1]) + 1) / 166
    value = _unbase83(blurhash[2:6])
    colors = [tuple(_to_linear(c) for c in (value >> 16, (value >> 8) & 255, value & 255))]
    for k in range(1, x_components * y_components):
        v = _unbase83(blurhash[4 + 2 * k : 6 + 2 * k])
        quantised = (v // (19 * 19), (v // 19) % 19, v % 19)
        colors.append(tuple(_sign_pow((q - 9) / 9, 2.0) * maximum for q in quantised))
    image = Image.new("RGB", (width, height))
    for y in range(height):
        for x in range(width):
            rgb = [0.0, 0.0, 0.0]
            for j in range(y_components):
                for i in range(x_components):
                    basis = math.cos(math.pi * x * i / width) * math.cos(math.pi * y * j / height)
                    color = colors[i + j * x_components]
                    for c in range(3):
                        rgb[c] += color[c] * basis
            image.putpixel((x, y), (_to_srgb(rgb[0]), _to_srgb(rgb[1]), _to_srgb(rgb[2])))
    return image


def _component(
    pixels: list[tuple[float, ...]], width: int, height: int, i: int, j: int
) -> tuple[float, float, float]:
    normalisation = 1.0 if i == j == 0 else 2.0
    columns = [math.cos(math.pi * i * x / width) for x in range(width)]
    rows = [math.cos(math.pi * j * y / height) for y in range(height)]
    r = g = b = 0.0
    for index, (pr, pg, pb) in enumerate(pixels):
        basis = columns[index % width] * rows[index // width]
        r += basis * pr
        g += basis * pg
        b += basis * pb
    scale = normalisation / (width * height)
    return r * scale, g * scale, b * scale


def _to_linear(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _sign_pow(value: float, exponent: float) -> float:
    return math.copysign(abs(value) ** exponent, value)


def _base83(value: int, length: int) -> str:
    return "".join(ALPHABET[(value // 83 ** (length - 1 - k)) % 83] for k in range(length))


def _unbase83(text: str) -> int:
    value = 0
    for char in text:
        value = value * 83 + ALPHABET.index(char)
    return value
