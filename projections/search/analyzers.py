"""The tantivy analyzers of the search view's two text fields, and the query-side helpers
that must cut text exactly as they do.

`words` (every message, whatever its language): tantivy's simple tokenizer (runs of letters
and digits), words over 40 characters dropped, English stop words dropped and English
stemming (Snowball). Stemming is decided per message, and the decision is the same for every
message: always English. Chat messages are too short for language detection to be reliable
("ok", "merci!", "lol"), the log carries no conversation language, and a query goes through
the same analyzer, so a word in any language still finds itself; the English stemmer only
adds matches (runs finds running). The cost, written down: an English stop word cannot be
searched alone, in any language ("was", "die" in German is not one, "on" is), and in other
Latin-script languages a suffix is occasionally conflated. Accents and case are folded before
(`folding.py`), so the lowercase filter is not needed.

`grams` (substring scripts, `scripts.py`): every character and every pair of neighbours of
each run. Every n-gram sits at position 0 (tantivy's n-gram tokenizer), so the field has no
positions; a query longer than two characters asks for all its bigrams and is then verified
against the message's folded text (`plan.py`).

tantivy forgets custom analyzers when an index is closed: `register` runs on every open,
writer and reader alike (`layout.open_index`).
"""

from __future__ import annotations

from tantivy import Filter, Index, TextAnalyzerBuilder, Tokenizer

WORDS = "parley_words"
GRAMS = "parley_grams"
MAX_WORD_CHARS = 40

_WORDS = (
    TextAnalyzerBuilder(Tokenizer.simple())
    .filter(Filter.remove_long(MAX_WORD_CHARS))
    .filter(Filter.stopword("english"))
    .filter(Filter.stemmer("english"))
    .build()
)
_GRAMS = TextAnalyzerBuilder(Tokenizer.ngram(1, 2)).build()
_TOKENS = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(MAX_WORD_CHARS)).build()


def register(index: Index) -> None:
    index.register_tokenizer(WORDS, _WORDS)
    index.register_tokenizer(GRAMS, _GRAMS)


def tokens(words_text: str) -> list[str]:
    """The words of `words_text` as the `words` field cuts them, before stop words and
    stemming: the i-th is at position i in the index."""
    return _TOKENS.analyze(words_text)


def term(token: str) -> str | None:
    """The indexed term of one token: its stem, or None for a stop word."""
    analysed = _WORDS.analyze(token)
    return analysed[0] if analysed else None


def grams(run: str) -> list[str]:
    """The terms that find `run` in the `grams` field: the run itself up to two characters,
    else its bigrams (all must match; the caller verifies the run)."""
    if len(run) <= 2:
        return [run]
    return list(dict.fromkeys(run[i : i + 2] for i in range(len(run) - 1)))
