"""The part policy: one PUT up to the part size, equal parts above it, S3's limits kept."""

from __future__ import annotations

import pytest

from media.parts import MAX_PARTS, plan
from media.settings import MIB, MIN_PART_BYTES

PART = 8 * MIB


@pytest.mark.parametrize("size", [1, 1000, PART])
def test_small_files_go_in_one_put(size: int) -> None:
    upload = plan(size, PART)
    assert not upload.multipart
    assert [(p.number, p.size) for p in upload.parts] == [(1, size)]


def test_a_100_mib_file_is_twelve_full_parts_and_a_short_last_one() -> None:
    upload = plan(100 * MIB, PART)
    assert upload.multipart
    assert [p.size for p in upload.parts] == [PART] * 12 + [4 * MIB]
    assert [p.number for p in upload.parts] == list(range(1, 14))


@pytest.mark.parametrize("size", [PART + 1, 3 * PART, 3 * PART - 1, 777 * MIB + 3])
def test_parts_cover_the_file_and_only_the_last_is_short(size: int) -> None:
    upload = plan(size, PART)
    sizes = [p.size for p in upload.parts]
    assert sum(sizes) == size
    assert all(s == upload.part_bytes for s in sizes[:-1])
    assert 0 < sizes[-1] <= upload.part_bytes
    assert all(s >= MIN_PART_BYTES for s in sizes[:-1])


def test_the_part_size_grows_to_stay_within_ten_thousand_parts() -> None:
    size = MAX_PARTS * PART + 1
    upload = plan(size, PART)
    assert len(upload.parts) <= MAX_PARTS
    assert upload.part_bytes == 9 * MIB
    assert sum(p.size for p in upload.parts) == size
