"""Search: the query language (parsed here, never handed to a database as typed), hits, and their cursor.

The syntax (docs/search.md): words separated by spaces must all match; ``"several words"`` is a phrase;
``word*`` matches words starting so (at least two characters before the ``*``); ``-word`` and
``-"a phrase"`` exclude. Everything else is text: ``AND``, ``OR``, ``NEAR``, ``column:`` or brackets
are words or separators, never operators. Words are runs of letters and digits, as both databases
split them; punctuation inside a term (``foo-bar``, ``e.mail``) makes it a phrase of its words.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from threadline.errors import ValidationFailed
from threadline.models.domain.base import DomainModel
from threadline.models.domain.conversation import MessageRole

MAX_QUERY_LENGTH = 256
MAX_TERMS = 16
MIN_PREFIX = 2

WORD = re.compile(r"[^\W_]+")
"""A word: a run of letters and digits (as FTS5's unicode61 and PostgreSQL's parser split text)."""
_ITEM = re.compile(r'\s*(-?)(?:"([^"]*)("?)|([^\s"]+))')
_LOC = ("query", "q")
SEARCH_SYNTAX = "search_syntax"
"""The ``errors[].type`` of a query that cannot be read."""


class SearchSyntaxError(ValidationFailed):
    """A search query that cannot be read; a 422 whose error ``type`` is ``search_syntax``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=_LOC, kind=SEARCH_SYNTAX)


class SearchSort(StrEnum):
    """How hits are ordered: `newest` first (the order things were written) or best match (`relevance`)."""

    NEWEST = "newest"
    RELEVANCE = "relevance"


@dataclass(frozen=True)
class Term:
    """Words that must follow each other (one word is a phrase of one); ``prefix``: the last may go on."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: every ``required`` term matches and no ``excluded`` one does."""

    required: tuple[Term, ...]
    excluded: tuple[Term, ...]

    @classmethod
    def parse(cls, text: str) -> SearchQuery:
        text = unicodedata.normalize("NFC", text).strip()
        if not text:
            raise SearchSyntaxError("The query is empty")
        if len(text) > MAX_QUERY_LENGTH:
            raise SearchSyntaxError(f"The query is longer than {MAX_QUERY_LENGTH} characters")
        required: list[Term] = []
        excluded: list[Term] = []
        position = 0
        while position < len(text):
            found = _ITEM.match(text, position)
            if found is None:  # only trailing whitespace is left
                break
            position = found.end()
            minus, phrase, closing, bare = found.groups()
            if phrase is not None and not closing:
                raise SearchSyntaxError('A phrase is not closed: its opening " has no closing "')
            term = _term(phrase if phrase is not None else bare, quoted=phrase is not None)
            if term is None:
                if minus and not (phrase or bare):
                    raise SearchSyntaxError("A - must be followed by the word or phrase to exclude")
                continue
            (excluded if minus else required).append(term)
        if len(required) + len(excluded) > MAX_TERMS:
            raise SearchSyntaxError(f"The query has more than {MAX_TERMS} terms")
        if not required:
            raise SearchSyntaxError("The query needs at least one word to find (not only exclusions)")
        return cls(tuple(required), tuple(excluded))

    def fingerprint(self) -> str:
        return repr((self.required, self.excluded))


def _term(text: str, *, quoted: bool) -> Term | None:
    prefix = not quoted and text.endswith("*") and len(text) > 1
    words = tuple(word.casefold() for word in WORD.findall(text))
    if not words:
        return None
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise SearchSyntaxError(f"A prefix needs at least {MIN_PREFIX} letters or digits before the *")
    return Term(words, prefix=prefix and text[:-1].rstrip("*")[-1:].isalnum())


@dataclass(frozen=True)
class SearchFilters:
    workspace_id: UUID | None = None
    conversation_id: UUID | None = None
    role: MessageRole | None = None
    before: datetime | None = None
    after: datetime | None = None


@dataclass(frozen=True)
class SearchPosition:
    """Where the previous page ended: the last hit's document number and, by relevance, its score and the
    oldest document the walk ranks (``None``: it ranks every match)."""

    document: int
    score: float | None = None
    floor: int | None = None


class SearchCursor:
    """An opaque cursor that belongs to one search: the same query, filters and order."""

    @staticmethod
    def search_key(query: SearchQuery, filters: SearchFilters, sort: SearchSort) -> str:
        described = repr((query.fingerprint(), filters, sort.value))
        return hashlib.sha256(described.encode()).hexdigest()[:16]

    @staticmethod
    def encode(position: SearchPosition, key: str) -> str:
        fields = {"d": position.document, "s": position.score, "f": position.floor, "k": key}
        raw = json.dumps(fields, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def decode(token: str, key: str) -> SearchPosition:
        loc = ("query", "cursor")
        try:
            fields = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            document, score, floor, of = fields["d"], fields["s"], fields.get("f"), fields["k"]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ValidationFailed("Malformed cursor", loc=loc) from None
        valid_score = score is None or (isinstance(score, float | int) and not isinstance(score, bool))
        if not _is_integer(document) or not (floor is None or _is_integer(floor)) or not valid_score:
            raise ValidationFailed("Malformed cursor", loc=loc)
        if of != key:
            raise ValidationFailed(
                "Malformed cursor: it belongs to another search (query, filters or sort)", loc=loc
            )
        return SearchPosition(document, None if score is None else float(score), floor)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class SearchHit(DomainModel):
    """A message, or a conversation by its title, that matched."""

    workspace_id: UUID
    conversation_id: UUID
    conversation_title: str
    message_id: UUID | None
    seq: int | None
    role: MessageRole | None
    snippet: str
    created_at: datetime


class SearchPage(DomainModel):
    items: list[SearchHit]
    next_cursor: str | None
