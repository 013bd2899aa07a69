"""A parsed query as a tantivy query, and what tantivy cannot decide by itself.

Each clause is analysed as the index analysed the text (`folding`, `scripts`, `analyzers`):
its words become a term (one word) or a phrase over their positions (several words, as in
"e-mail" or "3.14", or a quoted phrase; stop words leave their gap), its substring-script
runs become n-gram terms, all required. What tantivy's answer only approximates is checked
on each candidate's text (`Check`):

- a quoted phrase must appear as written, folded but not stemmed, word for word (tantivy
  matched stems at the right positions: "running fast" also finds "runs fast");
- a run of over two substring-script characters must appear whole (tantivy matched all its
  bigrams, anywhere in the message: n-grams carry no positions).

An excluded clause that needs a check is excluded by the check only (excluding tantivy's
superset would drop messages that do not contain it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tantivy import FieldType, Occur, Query

from projections.search import analyzers
from projections.search import layout as f
from projections.search.errors import InvalidSearchError
from projections.search.folding import fold
from projections.search.scripts import split, units
from projections.search.syntax import Clause, ParsedQuery


@dataclass(frozen=True)
class Check:
    """A phrase a message's text (in `units` form) must, or must not, contain."""

    needle: str
    negated: bool

    def passes(self, padded_units: str) -> bool:
        return (f" {self.needle} " in padded_units) != self.negated


@dataclass(frozen=True)
class Plan:
    query: Query
    """The clauses and filters; who may read what is added per person (`access.py`)."""
    checks: tuple[Check, ...]
    terms: frozenset[str]
    """Word terms (stems) to highlight."""
    runs: tuple[str, ...]
    """Folded substring-script runs to highlight."""

    def passes(self, text: str) -> bool:
        if not self.checks:
            return True
        padded = f" {units(fold(text))} "
        return all(check.passes(padded) for check in self.checks)


@dataclass(frozen=True)
class _Analysed:
    parts: tuple[Query, ...]
    check: Check | None
    terms: tuple[str, ...]
    runs: tuple[str, ...]
    stop_words_only: bool


def _analyse(clause: Clause) -> _Analysed:
    folded = fold(clause.text)
    words_text, runs = split(folded)
    tokens = analyzers.tokens(words_text)
    kept = [
        (position, term)
        for position, term in ((p, analyzers.term(t)) for p, t in enumerate(tokens))
        if term is not None
    ]
    parts: list[Query] = []
    if len(kept) == 1:
        parts.append(Query.term_query(f.SCHEMA, f.WORDS, kept[0][1]))
    elif kept:
        first = kept[0][0]
        parts.append(Query.phrase_query(f.SCHEMA, f.WORDS, [(p - first, t) for p, t in kept]))
    for run in runs:
        grams = [Query.term_query(f.SCHEMA, f.GRAMS, g) for g in analyzers.grams(run)]
        parts.append(grams[0] if len(grams) == 1 else _all(grams))
    unit_count = len(tokens) + sum(len(r) for r in runs)
    needs_check = (clause.phrase and unit_count > 1) or any(len(r) > 2 for r in runs)
    if needs_check and not clause.phrase:
        # Only the long runs need it; the words of an unquoted clause may stem.
        needle = " ".join(units(r) for r in runs if len(r) > 2)
    else:
        needle = units(folded)
    return _Analysed(
        parts=tuple(parts),
        check=Check(needle, clause.negated) if needs_check and parts else None,
        terms=tuple(t for _, t in kept),
        runs=tuple(runs),
        stop_words_only=bool(tokens) and not parts,
    )


def _all(queries: list[Query]) -> Query:
    return Query.boolean_query([(Occur.Must, q) for q in queries])


def _micros(day: date) -> int:
    at = datetime.combine(day, time(), tzinfo=UTC)
    return int(at.timestamp()) * 1_000_000


def _filters(parsed: ParsedQuery) -> list[Query]:
    given = parsed.filters
    found: list[Query] = []
    if given.conversation_id is not None:
        found.append(Query.term_query(f.SCHEMA, f.CONVERSATION, given.conversation_id))
    if given.sender is not None:
        found.append(Query.term_query(f.SCHEMA, f.SENDER, given.sender))
    if given.before is not None or given.after is not None:
        lower = None if given.after is None else _micros(given.after + timedelta(days=1))
        upper = None if given.before is None else _micros(given.before)
        found.append(
            Query.range_query(
                f.SCHEMA,
                f.STAMP,
                FieldType.Integer,
                lower,
                upper,
                include_lower=True,
                include_upper=upper is None,
            )
        )
    found += [Query.term_query(f.SCHEMA, f.TAGS, tag) for tag in sorted(given.tags)]
    return found


def plan(parsed: ParsedQuery) -> Plan:
    must: list[Query] = []
    must_not: list[Query] = []
    checks: list[Check] = []
    terms: list[str] = []
    runs: list[str] = []
    positives = stop_only = 0
    for clause in parsed.clauses:
        analysed = _analyse(clause)
        if analysed.check is not None:
            checks.append(analysed.check)
        if clause.negated:
            if analysed.check is None and analysed.parts:
                must_not.append(_all(list(analysed.parts)))
            continue
        positives += 1
        stop_only += analysed.stop_words_only
        must += analysed.parts
        terms += analysed.terms
        runs += analysed.runs
    if not must:
        _refuse_empty(parsed, positives, stop_only, has_exclusions=bool(must_not or checks))
    clauses = [(Occur.Must, q) for q in must + _filters(parsed)]
    if not must:
        clauses.append((Occur.Must, Query.all_query()))
    clauses += [(Occur.MustNot, q) for q in must_not]
    return Plan(
        query=Query.boolean_query(clauses),
        checks=tuple(checks),
        terms=frozenset(terms),
        runs=tuple(dict.fromkeys(runs)),
    )


def _refuse_empty(
    parsed: ParsedQuery, positives: int, stop_only: int, *, has_exclusions: bool
) -> None:
    """A query with no word to match is refused, unless it is a filter alone ("has:file in
    this conversation"), which lists messages newest first."""
    if stop_only and stop_only == positives:
        raise InvalidSearchError("the query has only stop words (the, a, to, ...): add a word")
    if positives:
        raise InvalidSearchError("the query has nothing to search for: no letter, digit or emoji")
    if parsed.filtered:
        return
    if has_exclusions:
        raise InvalidSearchError("the query only excludes: add a word to search for")
    raise InvalidSearchError("the query is empty")
