"""Each language family the search view promises, with real sentences, through the real
index and query side: indexed by SearchBatch, found by MessageSearch."""

# ruff: noqa: RUF001  (full-width letters and look-alike scripts are what this file tests)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.search.answers import utf16_slice
from projections.search.folding import fold, fold_with_map
from tests.unit.search_world import World

SENTENCES = {
    "en": "The children were running to the station because the last trains leave at 23:40",
    "fr": "Nous avons mangé une crème brûlée au café de la gare, à côté de l'hôtel",
    "de": "Die Straße über den Fluß ist wegen Bauarbeiten bis Ende März gesperrt",
    "zh": "我们明天去北京吃烤鸭，然后参观故宫博物院",
    "zh_scattered": "我吃烤肉，他要烤鸭",
    "ja": "明日は東京駅でコーヒーを飲みましょう",
    "ko": "저는 매일 학교에서 한국어를 공부해요",
    "th": "ฉันกำลังเรียนภาษาไทยที่มหาวิทยาลัยเชียงใหม่",
    "ar": "مَرْحَبًا بِكُمْ فِي اجتماع أحمد يوم الخميس",
    "he": "שָׁלוֹם לכולם, הפגישה נדחתה ליום חמישי",
    "emoji": "Happy birthday Sam 🎉🎂 see you at 7 👍🏽",
    "numbers": "Invoice 2024-0117 totals 3.14 million, due on 15/08",
    "fullwidth": "ＰＡＲＬＥＹ　ｖｅｒｓｉｏｎ　２",
    "rtl_marks": "\u202bהודעה חשובה\u202c about the release",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, int]]]:
    built = World(tmp_path_factory.mktemp("languages"))
    built.create("c", "alice", "bob")
    seqs = {name: built.send("c", "alice", text) for name, text in SENTENCES.items()}
    built.write()
    yield built, seqs
    built.close()


def finds(world: tuple[World, dict[str, int]], query: str) -> set[str]:
    built, seqs = world
    by_seq = {seq: name for name, seq in seqs.items()}
    return {by_seq[seq] for _, seq in built.found("bob", query)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("running", {"en"}),
        ("run", {"en"}),  # English stemming: run finds running
        ("train", {"en"}),
        ("STATION", {"en"}),
        ("creme brulee", {"fr"}),  # accents folded both ways
        ("crème", {"fr"}),
        ("cote hotel", {"fr"}),
        ("strasse", {"de"}),  # ß is ss
        ("uber fluss", {"de"}),
        ("北京", {"zh"}),  # two characters inside a longer sentence
        ("烤鸭", {"zh", "zh_scattered"}),
        ("吃烤鸭", {"zh"}),  # all bigrams are in zh_scattered too, but not in a row
        ("故宫博物院", {"zh"}),
        ("京", {"zh", "ja"}),  # one character, its unigram: 北京 and 東京
        ("東京", {"ja"}),
        ("コーヒー", {"ja"}),
        ("ｺｰﾋｰ", {"ja"}),  # half-width katakana
        ("学校", set()),  # Chinese for school is not the Korean word
        ("학교", {"ko"}),  # the word without its particle 에서
        ("한국어", {"ko"}),
        ("ภาษาไทย", {"th"}),
        ("เชียงใหม่", {"th"}),
        ("مرحبا", {"ar"}),  # the vocalised text found without its harakat
        ("احمد", {"ar"}),  # and alef with hamza as plain alef
        ("שלום", {"he"}),  # Hebrew points dropped
        ("חמישי", {"he"}),
        ("הודעה חשובה", {"rtl_marks"}),  # bidi embedding marks are not part of words
        ("🎉", {"emoji"}),
        ("🎂", {"emoji"}),
        ("👍🏽", {"emoji"}),
        ("👍", {"emoji"}),
        ("2024", {"numbers"}),
        ("3.14", {"numbers"}),
        ("０１１７", {"numbers"}),  # full-width digits
        ("parley", {"fullwidth"}),
        ("ＰＡＲＬＥＹ", {"fullwidth"}),
        ("Version", {"fullwidth"}),
    ],
)
def test_each_language_is_found(
    world: tuple[World, dict[str, int]], query: str, expected: set[str]
) -> None:
    assert finds(world, query) == expected


def test_a_quoted_phrase_matches_as_written_not_as_stemmed(
    world: tuple[World, dict[str, int]],
) -> None:
    assert finds(world, '"were running to the station"') == {"en"}
    assert finds(world, '"were run to the station"') == set()
    assert finds(world, '"running station"') == set()
    assert finds(world, '"北京吃烤鸭"') == {"zh"}
    assert finds(world, '"明天 去北京"') == {"zh"}  # spacing does not count


def test_exclusions(world: tuple[World, dict[str, int]]) -> None:
    assert finds(world, "烤鸭 -北京") == {"zh_scattered"}
    assert finds(world, '烤鸭 -"吃烤鸭"') == {"zh_scattered"}
    assert finds(world, "run -station") == set()


def test_highlights_point_into_the_text_as_sent_in_utf16(
    world: tuple[World, dict[str, int]],
) -> None:
    built, seqs = world
    cases = [
        ("cafe", "fr", ["café"]),
        ("🎂", "emoji", ["🎂"]),
        ("7", "emoji", ["7"]),
        ("parley", "fullwidth", ["ＰＡＲＬＥＹ"]),
        ("北京", "zh", ["北京"]),
        ("مرحبا", "ar", ["مَرْحَبًا"]),
        ("running trains", "en", ["running", "trains"]),
    ]
    for query, name, marked in cases:
        (hit,) = [h for h in built.search("bob", query).hits if h.seq == seqs[name]]
        assert [utf16_slice(hit.snippet, h.start, h.end) for h in hit.highlights] == marked
        assert hit.snippet == SENTENCES[name]


def test_folding_piece_by_piece_equals_folding_the_whole() -> None:
    for text in SENTENCES.values():
        folded, starts, ends = fold_with_map(text)
        assert folded == fold(text)
        assert len(starts) == len(ends) == len(folded)


def test_folding_unifies_width_case_and_accents_only() -> None:
    assert fold("Ａ") == fold("a")
    assert fold("É") == fold("e")
    assert fold("が") != fold("か")  # dakuten makes another letter
    assert fold("ไม้") != fold("ไม")  # so does a Thai tone mark
    assert fold("❤️") == fold("❤")


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.close()


def test_a_long_message_gets_a_snippet_around_its_first_match(empty: World) -> None:
    text = "word " * 100 + "needle 🎉 " + "tail " * 100
    empty.create("c", "alice")
    empty.send("c", "alice", text)
    empty.write()
    (hit,) = empty.search("alice", "needle").hits
    assert len(hit.snippet) <= 200
    assert text.find(hit.snippet) == hit.snippet_offset  # no astral character before it
    (mark,) = hit.highlights
    assert utf16_slice(hit.snippet, mark.start, mark.end) == "needle"
