"""Full-text search over the catalog, for Chinese and Latin script.

How it works (the ``cjk`` analyzer idea of Lucene/Elasticsearch, plus an
exact check):

* Text is normalized (:func:`normalize`: NFC, then NFKC and case folding per
  character, whitespace runs collapsed to one space), so ``ＵＩＲ``, ``uir``
  and ``UIR`` are one thing and full-width punctuation matches half-width.
* Runs of CJK characters are indexed as overlapping bigrams (国际关系 →
  国际 际关 关系) followed by a separator token, so a bigram phrase can never
  run across punctuation or a paragraph break. A CJK query word becomes the
  FTS5 phrase of its bigrams and finds exactly the articles that contain it
  as a substring, whatever a word segmenter would make of it. One-character
  words use the ``chars`` column (the set of CJK characters in the article).
* Runs of letters and digits are indexed as whole lowercase words (for
  ranking and phrases) and, in the ``latin`` column, as all their suffixes, so
  a Latin query word also matches inside a longer word (``nation`` finds
  ``International``): every query term has substring semantics.
* Terms that are not a single CJK run (mixed scripts, punctuation, phrases
  with spaces) are narrowed with FTS5 and then verified with ``instr`` on the
  normalized text kept in ``search_text``, so results are exact.

Query language (documented in :data:`QUERY_HELP`): words separated by spaces
must all occur (AND), ``"..."`` is a phrase taken literally (spaces included),
``OR`` and ``NOT`` (upper case) and parentheses combine them.

The index tables are derived from the current version of each article and
are rebuilt by :func:`reindex_all`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from archive.research.filters import CREDIT_ROLES, REVIEW_ROLES, Filters, MatchClause, Select
from record import upgrade

#: Bump when tokenization or the tables change: ensure_search_schema rebuilds.
SEARCH_INDEX_VERSION = "1"

QUERY_HELP = """\
Query syntax:
  党建 校长          both words must occur (AND); each word matches as a substring
                     of the title or body, case-insensitively (so 国际 also finds
                     国际关系学院, and nation finds International)
  "国际 关系"        a phrase, matched literally, spaces included
  党建 OR 团建       either word
  党建 NOT 论坛      党建 but not 论坛 (NOT needs a positive term beside it)
  党建 -论坛         the same: a leading - is NOT
  (党建 OR 团建) 论坛 parentheses group
AND, OR, NOT are operators only in upper case. There are no wildcards: * and
other punctuation are matched literally inside a term. Results are ranked with
BM25 (title counts more than body), newest first among equals."""

# Characters indexed as bigrams: CJK ideographs, kana, hangul, and the
# ideographic iteration/number marks that appear inside Chinese words.
_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303c\u3040-\u30ff"
    "\u3100-\u312f\u3131-\u318f\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
)
_RUN = re.compile(f"([{_CJK}]+)|[^\\W_{_CJK}]+")
_SPACES = re.compile(r"\s+")

#: Token that ends every CJK run in the index: the ``ascii`` tokenizer keeps
#: it (non-ASCII), and :func:`_runs` can never produce it (it is a symbol), so
#: a bigram phrase cannot match across two runs.
_SEPARATOR = "¦"

#: Suffixes of Latin words are cut to this many characters: a query word of
#: up to this length still finds every occurrence (via a prefix query).
_LATIN_MAX = 64

#: With a result limit, at most this many FTS matches are ranked (the most
#: recently catalogued ones, title hits first, then newest); when fewer
#: match, all are ranked by bm25().
RANK_POOL = 2_000

#: BM25 weights of the FTS columns: title, body, chars, latin.
RANK_SQL = "bm25(search_fts, 8.0, 1.0, 0.5, 0.5)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_text (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    title, body, chars, latin, content='', tokenize='ascii', detail=full
);
CREATE TABLE IF NOT EXISTS article_people (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    kind TEXT NOT NULL CHECK (kind IN ('reviewer', 'credit')),
    role TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (article_id, role, position)
);
CREATE INDEX IF NOT EXISTS article_people_name ON article_people(name, role);
CREATE TABLE IF NOT EXISTS article_facts (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    published_date TEXT,
    published_time TEXT,
    year INTEGER,
    month TEXT,
    has_attachments INTEGER NOT NULL,
    image_count INTEGER NOT NULL,
    attachment_count INTEGER NOT NULL,
    body_chars INTEGER NOT NULL,
    column_name TEXT
);
CREATE INDEX IF NOT EXISTS article_facts_date ON article_facts(published_date);
"""

_TABLES = ("search_fts", "search_text", "article_people", "article_facts")


class QueryError(ValueError):
    """A search query that cannot be understood; the message says why."""


# -- normalization and tokenization ------------------------------------------


@lru_cache(maxsize=65536)
def _fold(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    return " " if folded.isspace() else folded


def normalize(text: str) -> str:
    """The form that is indexed and searched: folded per character, spaces collapsed."""
    folded = "".join(map(_fold, unicodedata.normalize("NFC", text)))
    return _SPACES.sub(" ", folded).strip()


def normalize_with_map(text: str) -> tuple[str, str, list[int]]:
    """(NFC text, its :func:`normalize` form, index into the NFC text of each folded char)."""
    source = unicodedata.normalize("NFC", text)
    folded = "".join(map(_fold, source))
    if len(folded) == len(source):
        # The common case (no character folds to several): only the collapsing
        # of whitespace moves positions, so build the map a slice at a time.
        pieces: list[str] = []
        where: list[int] = []
        pos = 0
        for match in _SPACES.finditer(folded):
            start, end = match.span()
            pieces.append(folded[pos:start])
            where.extend(range(pos, start))
            if start > 0 and end < len(folded):
                pieces.append(" ")
                where.append(start)
            pos = end
        pieces.append(folded[pos:])
        where.extend(range(pos, len(folded)))
        return source, "".join(pieces), where
    out: list[str] = []
    where = []
    for i, char in enumerate(source):
        for piece in _fold(char):
            if piece.isspace():
                if not out or out[-1] == " ":
                    continue
                piece = " "
            out.append(piece)
            where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return source, "".join(out), where


def _runs(norm: str) -> Iterator[re.Match[str]]:
    return _RUN.finditer(norm)


def _field_tokens(norm: str, chars: set[str], latin: set[str]) -> str:
    tokens: list[str] = []
    for match in _runs(norm):
        run = match.group()
        if match.group(1):
            chars.update(run)
            if len(run) > 1:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
                tokens.append(_SEPARATOR)
        else:
            tokens.append(run)
            latin.add(run)
    return " ".join(tokens)


def _fts_columns(title_norm: str, body_norm: str) -> tuple[str, str, str, str]:
    chars: set[str] = set()
    latin: set[str] = set()
    title = _field_tokens(title_norm, chars, latin)
    body = _field_tokens(body_norm, chars, latin)
    suffixes = {word[i:][:_LATIN_MAX] for word in latin for i in range(len(word))}
    return title, body, " ".join(sorted(chars)), " ".join(sorted(suffixes))


# -- index maintenance -------------------------------------------------------


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """Join the caller's transaction, or run in our own one."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _meta_version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'search_index_version'").fetchone()
    return None if row is None else str(row[0])


def search_tables_exist(conn: sqlite3.Connection) -> bool:
    """Whether the catalog has the search tables (an archive never searched has none)."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_fts'").fetchone()
    return row is not None


def ensure_search_schema(conn: sqlite3.Connection) -> None:
    """Create the search tables; rebuild them if they come from another index version."""
    version = _meta_version(conn)
    exists = (
        conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_fts'").fetchone() is not None
    )
    if exists and version == SEARCH_INDEX_VERSION:
        return
    if exists:
        # The contentless FTS table can only be updated with the tokens it was
        # built from, so a tokenizer change means a full rebuild.
        reindex_all(conn)
        return
    with _write(conn):
        _create(conn)
        _set_version(conn)


def _create(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _set_version(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('search_index_version', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (SEARCH_INDEX_VERSION,),
    )


def _names(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(name) for name in value if isinstance(name, str) and name]


def index_article(conn: sqlite3.Connection, article_id: int, record: Mapping[str, Any]) -> None:
    """Replace the search rows of ``article_id`` with those of ``record`` (its current version).

    Runs inside the caller's transaction if there is one.
    """
    with _write(conn):
        _delete(conn, article_id)
        _insert(conn, article_id, record)


def _delete(conn: sqlite3.Connection, article_id: int) -> None:
    old = conn.execute(
        "SELECT title, body FROM search_text WHERE article_id = ?", (article_id,)
    ).fetchone()
    if old is not None:
        conn.execute(
            "INSERT INTO search_fts(search_fts, rowid, title, body, chars, latin) "
            "VALUES ('delete', ?, ?, ?, ?, ?)",
            (article_id, *_fts_columns(str(old[0]), str(old[1]))),
        )
        conn.execute("DELETE FROM search_text WHERE article_id = ?", (article_id,))
    conn.execute("DELETE FROM article_people WHERE article_id = ?", (article_id,))
    conn.execute("DELETE FROM article_facts WHERE article_id = ?", (article_id,))


def _insert(conn: sqlite3.Connection, article_id: int, record: Mapping[str, Any]) -> None:
    title = normalize(str(record.get("title") or ""))
    body = normalize(str(record.get("body_text") or ""))
    conn.execute(
        "INSERT INTO search_text(article_id, title, body) VALUES (?, ?, ?)",
        (article_id, title, body),
    )
    conn.execute(
        "INSERT INTO search_fts(rowid, title, body, chars, latin) VALUES (?, ?, ?, ?, ?)",
        (article_id, *_fts_columns(title, body)),
    )
    people: list[tuple[int, str, str, int, str]] = []
    reviewers = record.get("reviewers") or {}
    for role in REVIEW_ROLES:
        for position, name in enumerate(_names(reviewers.get(role))):
            people.append((article_id, "reviewer", role, position, name))
    credits = record.get("credits") or {}
    for role in CREDIT_ROLES:
        for position, name in enumerate(_names(credits.get(role))):
            people.append((article_id, "credit", role, position, name))
    conn.executemany(
        "INSERT INTO article_people(article_id, kind, role, position, name) VALUES (?, ?, ?, ?, ?)",
        people,
    )
    published = record.get("published_at")
    date = published[:10] if isinstance(published, str) and len(published) >= 10 else None
    time = published if isinstance(published, str) and "T" in published else None
    attachments = record.get("attachments") or []
    conn.execute(
        "INSERT INTO article_facts(article_id, published_date, published_time, year, month, "
        "has_attachments, image_count, attachment_count, body_chars, column_name) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            date,
            time,
            int(date[:4]) if date else None,
            date[:7] if date else None,
            int(bool(attachments)),
            len(record.get("images") or []),
            len(attachments),
            len(str(record.get("body_text") or "")),
            record.get("column"),
        ),
    )


def reindex_all(conn: sqlite3.Connection) -> int:
    """Rebuild every search table from the current versions; returns the article count."""
    count = 0
    with _write(conn):
        for table in _TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        _create(conn)
        _set_version(conn)
        cursor = conn.execute(
            "SELECT a.id, v.record_json FROM articles a "
            "JOIN versions v ON v.id = a.current_version_id ORDER BY a.id"
        )
        for article_id, text in cursor:
            _insert(conn, int(article_id), json.loads(text))
            count += 1
        optimize(conn)
    return count


def optimize(conn: sqlite3.Connection) -> None:
    """Merge the FTS index into one segment (faster queries after a bulk load)."""
    conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")


# -- the query language --------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase; ``text`` is its normalized form."""

    text: str
    raw: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or

_OPERATORS = {"AND", "OR", "NOT", "(", ")"}


def _lex(query: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: kind is an operator, 'TERM' or 'PHRASE'."""
    tokens: list[tuple[str, str]] = []
    i = 0
    n = len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((char, char))
            i += 1
        elif char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            # -term (or -"phrase", or -(group)) at the start of a term is NOT; a
            # hyphen inside a word (COVID-19) is part of the word.
            tokens.append(("NOT", "-"))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError('unbalanced quote: a phrase needs a closing "')
            tokens.append(("PHRASE", query[i + 1 : end]))
            i = end + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            tokens.append((word if word in _OPERATORS else "TERM", word))
            i = j
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("empty query")
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            if self.peek() in (None, ")", "OR", "AND"):
                raise QueryError("OR needs a term on both sides")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.take()
                if self.peek() in (None, ")", "OR", "AND"):
                    raise QueryError("AND needs a term on both sides")
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        kind = self.peek()
        if kind == "NOT":
            self.take()
            if self.peek() in (None, ")", "OR", "AND", "NOT"):
                raise QueryError("NOT must be followed by a term")
            return Not(self.unary())
        if kind == "(":
            self.take()
            if self.peek() == ")":
                raise QueryError("empty parentheses")
            node = self.or_expr()
            if self.peek() != ")":
                raise QueryError("unbalanced parenthesis: missing )")
            self.take()
            return node
        if kind in ("AND", "OR"):
            raise QueryError(f"{kind} needs a term on both sides")
        if kind == ")":
            raise QueryError("unbalanced parenthesis: unexpected )")
        _, text = self.take()
        norm = normalize(text)
        if not norm:
            raise QueryError("empty phrase")
        if not any(True for _ in _runs(norm)):
            raise QueryError(
                f"nothing to search for in {text!r}: a term needs a letter, digit or CJK character"
            )
        return Term(norm, text)


def parse_query(query: str) -> Node:
    """The syntax tree of ``query``; :class:`QueryError` if it is malformed."""
    node = _Parser(_lex(query)).parse()
    _check_negations(node)
    return node


def _check_negations(node: Node) -> None:
    """Every NOT must stand in an AND beside a positive term: FTS5 cannot list 'everything'."""
    if isinstance(node, Not):
        raise QueryError("NOT needs a positive term beside it, e.g. 党建 NOT 论坛")
    if isinstance(node, And):
        if all(isinstance(child, Not) for child in node.children):
            raise QueryError("NOT needs a positive term beside it, e.g. 党建 NOT 论坛")
        for child in node.children:
            _check_negations(child.child if isinstance(child, Not) else child)
    elif isinstance(node, Or):
        for child in node.children:
            _check_negations(child)


def _quote(token: str) -> str:
    # Tokens hold only CJK characters, letters and digits, but quote-doubling
    # keeps the MATCH string well-formed whatever they hold.
    return '"' + token.replace('"', '""') + '"'


def _term_fts(term: Term) -> tuple[str, bool]:
    """(FTS5 expression that every match satisfies, whether it is also sufficient)."""
    text = term.text
    parts: list[str] = []
    runs = list(_runs(text))
    for match in runs:
        run = match.group()
        if match.group(1):
            if len(run) == 1:
                parts.append("chars : " + _quote(run))
            else:
                bigrams = " ".join(run[i : i + 2] for i in range(len(run) - 1))
                parts.append("{title body} : " + _quote(bigrams))
        elif match.start() == 0 or match.end() == len(text):
            # Might continue into a longer word in the text: any word with a
            # suffix that starts with this run.
            parts.append("latin : " + _quote(run[:_LATIN_MAX]) + " *")
        else:
            parts.append("{title body} : " + _quote(run))
    exact = len(runs) == 1 and bool(runs[0].group(1)) and runs[0].group() == text
    expression = parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
    return expression, exact


def _leaves(node: Node) -> Iterator[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from _leaves(node.child)
    else:
        for child in node.children:
            yield from _leaves(child)


def positive_terms(node: Node) -> list[Term]:
    """Terms that are not under a NOT: what a snippet should highlight."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [term for child in node.children for term in positive_terms(child)]


def _exact_fts(node: Node) -> str:
    if isinstance(node, Term):
        return _term_fts(node)[0]
    if isinstance(node, Or):
        return "(" + " OR ".join(_exact_fts(child) for child in node.children) + ")"
    if isinstance(node, And):
        positives = [_exact_fts(c) for c in node.children if not isinstance(c, Not)]
        negatives = [_exact_fts(c.child) for c in node.children if isinstance(c, Not)]
        expression = "(" + " AND ".join(positives) + ")"
        for negative in negatives:
            expression = f"({expression} NOT {negative})"
        return expression
    raise AssertionError("a bare NOT was rejected by parse_query")


def _skeleton_fts(node: Node) -> str | None:
    """A necessary condition from the positive terms; None means no constraint."""
    if isinstance(node, Term):
        return _term_fts(node)[0]
    if isinstance(node, Not):
        return None
    parts = [_skeleton_fts(child) for child in node.children]
    if isinstance(node, Or):
        if any(part is None for part in parts):
            return None
        return "(" + " OR ".join(p for p in parts if p is not None) + ")"
    kept = [p for p in parts if p is not None]
    return None if not kept else "(" + " AND ".join(kept) + ")"


def _verify_sql(node: Node, params: list[Any]) -> str:
    if isinstance(node, Term):
        params.extend((node.text, node.text))
        return "(instr(t.title, ?) > 0 OR instr(t.body, ?) > 0)"
    if isinstance(node, Not):
        return "NOT " + _verify_sql(node.child, params)
    joiner = " OR " if isinstance(node, Or) else " AND "
    return "(" + joiner.join(_verify_sql(child, params) for child in node.children) + ")"


def compile_query(query: str) -> tuple[MatchClause, Node]:
    """The catalog condition for ``query`` and its syntax tree.

    When every term is a single CJK run, the FTS5 expression alone is exact;
    otherwise FTS5 narrows the candidates and ``instr`` on the normalized text
    decides, so the result is the same either way.
    """
    node = parse_query(query)
    if all(_term_fts(term)[1] for term in _leaves(node)):
        return MatchClause(fts=_exact_fts(node), rank_sql=RANK_SQL), node
    skeleton = _skeleton_fts(node)
    if skeleton is None:
        raise QueryError("NOT needs a positive term beside it, e.g. 党建 NOT 论坛")
    params: list[Any] = []
    verify = _verify_sql(node, params)
    return MatchClause(skeleton, verify, tuple(params), RANK_SQL), node


# -- searching -----------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One search result; ``snippet`` marks matches with the markers asked for."""

    article_id: int
    url: str
    title: str
    published_at: str | None
    score: float
    snippet: str
    reviewers: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "url": self.url,
            "title": self.title,
            "published_at": self.published_at,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "reviewers": self.reviewers,
        }


def search(
    conn: sqlite3.Connection,
    query: str,
    filters: Filters | None = None,
    *,
    limit: int | None = 20,
    markers: tuple[str, str] = ("«", "»"),
    snippet_chars: int = 80,
    rank_pool: int | None = RANK_POOL,
) -> list[Hit]:
    """Articles that match ``query`` and ``filters``, best first.

    The result set is always exact; ``limit=None`` returns every match ranked
    by bm25(). With a ``limit``, ranking is bounded (see :func:`_ranked_ids`):
    at most :data:`FILTER_FIRST` filtered articles or ``rank_pool`` FTS matches
    (the most recently catalogued) are ranked, title hits first, then newest,
    where bm25() would be too costly. Raises :class:`QueryError` for a malformed query.
    """
    match, node = compile_query(query)
    filters = filters or Filters()
    terms = list(dict.fromkeys(term.text for term in positive_terms(node)))
    try:
        ranked = _ranked_ids(conn, match, node, terms, filters, limit, rank_pool)
    except sqlite3.OperationalError as exc:
        # compile_query quotes every token, so this means an FTS5 limit, not injection.
        raise QueryError(f"cannot run this query: {exc}") from exc
    if not ranked:
        return []

    records: dict[int, dict[str, Any]] = {}
    ids = [article_id for article_id, _ in ranked]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for article_id, text in conn.execute(
            "SELECT a.id, v.record_json FROM articles a JOIN versions v "
            f"ON v.id = a.current_version_id WHERE a.id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ):
            records[int(article_id)] = upgrade(json.loads(text))
    hits = []
    for article_id, score in ranked:
        record = records[article_id]
        reviewers = record.get("reviewers") or {}
        hits.append(
            Hit(
                article_id=article_id,
                url=str(record["url"]),
                title=str(record.get("title") or ""),
                published_at=record.get("published_at"),
                score=-score,
                snippet=make_snippet(
                    str(record.get("body_text") or ""), terms, markers, snippet_chars
                )
                or make_snippet(str(record.get("title") or ""), terms, markers, snippet_chars),
                reviewers={role: list(reviewers.get(role) or []) for role in REVIEW_ROLES},
            )
        )
    return hits


def count_matches(
    conn: sqlite3.Connection, query: str | None, filters: Filters | None = None
) -> int:
    """How many current articles match ``query`` (None: any) and ``filters``: uncapped.

    The same exact set :func:`search` ranks; :class:`QueryError` for a malformed query.
    """
    match = compile_query(query)[0] if query is not None else None
    sql, params = Select(
        columns=("a.id",),
        filters=filters or Filters(),
        match=match,
        where=("a.current_version_id IS NOT NULL",),
    ).build()
    try:
        (count,) = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    except sqlite3.OperationalError as exc:
        raise QueryError(f"cannot run this query: {exc}") from exc
    return int(count)


#: With selective filters (at most this many articles pass them), search
#: skips FTS5 and checks the filtered articles' text directly with ``instr``.
FILTER_FIRST = 3_000


def _rank_title_first(
    conn: sqlite3.Connection,
    inner: str,
    inner_params: list[Any],
    terms: Sequence[str],
    limit: int,
) -> list[tuple[int, float]]:
    """Rank candidates by how many query terms their title holds, then newest first.

    Used where bm25() would cost too much: it first counts the documents of
    each phrase in the whole index (its IDF), ~100 ms for a phrase found in
    most of a 100,000-article archive. Only the title is read (it comes
    before the body in the row, so the body's overflow pages stay on disk).
    """
    score = " + ".join("(instr(t.title, ?) > 0)" for _ in terms) or "0"
    # CROSS JOIN keeps the few candidates as the outer loop.
    sql = (
        f"SELECT c.id, {score} AS score FROM ({inner}) c "
        "CROSS JOIN search_text t ON t.article_id = c.id "
        "CROSS JOIN articles a ON a.id = c.id "
        "ORDER BY score DESC, a.published_at DESC, a.id DESC LIMIT ?"
    )
    rows = conn.execute(sql, [*terms, *inner_params, int(limit)])
    # Negated so that, as with bm25(), lower is better.
    return [(int(r[0]), -float(r[1])) for r in rows]


def _has_filters(filters: Filters) -> bool:
    return any(
        (
            filters.since,
            filters.until,
            filters.reviewer,
            filters.credit,
            filters.has_attachments,
            filters.column,
        )
    )


def _ranked_ids(
    conn: sqlite3.Connection,
    match: MatchClause,
    node: Node,
    terms: list[str],
    filters: Filters,
    limit: int | None,
    rank_pool: int | None,
) -> list[tuple[int, float]]:
    """(article id, score) of the best matches: a small query planner.

    1. Selective filters (at most FILTER_FIRST articles pass): check those
       articles' text with ``instr``, rank title hits first, then newest.
    2. Otherwise FTS5 finds the matches; if there are at most ``rank_pool``,
       rank them all with bm25(); if more (a broad query), take the
       ``rank_pool`` most recently catalogued and rank title hits first,
       then newest.
    The set of matches is exact in every case; only the ranking differs.
    """
    if limit is not None and _has_filters(filters):
        # Counting stops at FILTER_FIRST + 1: only "few or many" matters.
        some_sql, count_params = Select(
            columns=("1",), filters=filters, order_by="a.id", limit=FILTER_FIRST + 1
        ).build()
        count_sql = f"SELECT count(*) FROM ({some_sql})"
        if conn.execute(count_sql, count_params).fetchone()[0] <= FILTER_FIRST:
            verify_params: list[Any] = []
            verify = _verify_sql(node, verify_params)
            inner, inner_params = Select(
                columns=("a.id AS id",),
                filters=filters,
                joins=("JOIN search_text t ON t.article_id = a.id",),
                where=(verify,),
                where_params=verify_params,
                order_by="a.id",
            ).build()
            return _rank_title_first(conn, inner, inner_params, terms, limit)
    # A limit above the pool needs the full ranking, or results would go missing.
    if limit is not None and rank_pool is not None and limit <= rank_pool:
        pool_sql, pool_params = Select(
            columns=("a.id AS id",),
            filters=filters,
            match=match,
            order_by="search_fts.rowid DESC",
            limit=rank_pool + 1,
        ).build()
        pool = conn.execute(pool_sql, pool_params).fetchall()
        if len(pool) > rank_pool:
            pool_params[-1] = rank_pool
            return _rank_title_first(conn, pool_sql, pool_params, terms, limit)
    sql, params = Select(
        columns=("a.id", f"{match.rank_sql} AS score"),
        filters=filters,
        match=match,
        order_by="score, a.published_at DESC, a.id DESC",
        limit=limit,
    ).build()
    return [(int(r[0]), float(r[1])) for r in conn.execute(sql, params)]


def _spans(norm: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = norm.find(term)
        while start >= 0:
            spans.append((start, start + len(term)))
            start = norm.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(
    text: str,
    terms: Sequence[str],
    markers: tuple[str, str] = ("«", "»"),
    width: int = 80,
) -> str:
    """About ``width`` characters of ``text`` around the first match, matches marked.

    Returns "" when no term occurs in ``text``.
    """
    source, norm, where = normalize_with_map(text)
    spans = _spans(norm, [t for t in terms if t])
    if not spans:
        return ""
    first = where[spans[0][0]]
    lo = max(0, first - width // 3)
    hi = min(len(source), lo + width)
    lo = max(0, min(lo, hi - width))
    pieces: list[str] = ["…" if lo > 0 else ""]
    cursor = lo
    for start, end in spans:
        s, e = where[start], where[end - 1] + 1
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        if s < cursor:
            continue
        pieces.append(source[cursor:s])
        pieces.append(markers[0] + source[s:e] + markers[1])
        cursor = e
    pieces.append(source[cursor:hi])
    if hi < len(source):
        pieces.append("…")
    return _SPACES.sub(" ", "".join(pieces))


def matches(node: Node, title: str, body: str) -> bool:
    """Whether normalized ``title``/``body`` satisfy ``node``: the exact semantics, in Python."""
    if isinstance(node, Term):
        return node.text in title or node.text in body
    if isinstance(node, Not):
        return not matches(node.child, title, body)
    if isinstance(node, Or):
        return any(matches(child, title, body) for child in node.children)
    return all(matches(child, title, body) for child in node.children)


class SearchIndexer:
    """Keeps the search index in step with every stored record.

    The search tables are checked (and created) once per connection, not
    once per record: the check is two queries on the crawl's hot path.
    """

    def __init__(self) -> None:
        self._ready: list[sqlite3.Connection] = []

    def __call__(
        self, conn: sqlite3.Connection, article_id: int, record: Mapping[str, Any]
    ) -> None:
        if not any(ready is conn for ready in self._ready):
            ensure_search_schema(conn)
            self._ready.append(conn)
        index_article(conn, article_id, record)


def search_indexer() -> Callable[[sqlite3.Connection, int, Mapping[str, Any]], None]:
    """A fresh indexer for one session or rebuild (`ArchiveSession(indexer=...)`)."""
    return SearchIndexer()


def people_named(conn: sqlite3.Connection, name: str) -> dict[str, int]:
    """How many articles credit ``name`` exactly, by role (一校 ... 摄影): where a name lives.

    Names are in the credits, not in the searchable text, so a search for a
    name finds only articles that also mention it in the body; this tells
    the user which filter (``--reviewer``/``--credit``) finds the rest.
    """
    rows = conn.execute(
        "SELECT role, count(DISTINCT article_id) FROM article_people WHERE name = ? GROUP BY role",
        (name.strip(),),
    ).fetchall()
    return {str(role): int(count) for role, count in rows}


@dataclass(frozen=True)
class NoMatchReason:
    """Why a search found nothing, when it can be told: the CLI and the web page word it.

    ``without_filters`` articles match the query once the filters are dropped
    (the filters left nothing); else ``roles`` says in how many articles, by
    role, the query is a name in the credits, which search does not read.
    """

    name: str
    without_filters: int = 0
    roles: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_reviewer(self) -> bool:
        return bool(set(self.roles) & set(REVIEW_ROLES))


def why_no_match(
    conn: sqlite3.Connection, query: str, filters: Filters | None = None
) -> NoMatchReason | None:
    """For a search that found nothing: the filters' fault, a name in the credits, or None."""
    name = query.strip().strip('"')
    if filters is not None and filters != Filters():
        alone = count_matches(conn, query)
        if alone:
            return NoMatchReason(name, without_filters=alone)
    roles = people_named(conn, name)
    return NoMatchReason(name, roles=roles) if roles else None
