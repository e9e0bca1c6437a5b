"""Export the archive as one WACZ file that ReplayWeb.page and pywb can open.

py-wacz does the packaging (its own compressed CDXJ, ``datapackage.json``
with a hash of every file, ``datapackage-digest.json``); we hand it the
closed WARCs and our own page list: one page per current article, at the
WARC-Date of the response its current version was parsed from, titled with
the article's title, so the WACZ opens on the articles rather than on every
listing page and image.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import WarcPointer, list_warcs, read_record

PAGES_FORMAT = "json-pages-1.0"
_UNMATCHED = "Invalid passed page."


class WaczExportError(RuntimeError):
    """py-wacz failed, or a page has no matching capture in the WARCs."""


@dataclass(frozen=True)
class Page:
    url: str
    ts: str  # WARC-Date of the capture, ISO 8601 UTC
    title: str

    def as_json(self) -> str:
        return json.dumps({"url": self.url, "ts": self.ts, "title": self.title}, ensure_ascii=False)


@dataclass(frozen=True)
class WaczSummary:
    output: Path
    warc_files: int
    pages: int
    bytes: int


def current_pages(
    conn: sqlite3.Connection,
    warc_dir: Path,
    *,
    site: str | None = None,
    column: str | None = None,
) -> list[Page]:
    """One page per article with a current version (of ``site``, ``column``), newest first."""
    where, params = [], []
    if site is not None:
        where.append("a.site = ?")
        params.append(site.lower())
    if column is not None:
        where.append("a.column_name = ?")
        params.append(column)
    rows = conn.execute(
        "SELECT a.url AS article_url, a.title, v.warc_file, v.warc_offset, v.warc_length, "
        "c.url AS capture_url, c.fetched_at AS warc_date "
        "FROM articles a JOIN versions v ON v.id = a.current_version_id "
        "LEFT JOIN captures c ON c.warc_file = v.warc_file AND c.warc_offset = v.warc_offset "
        + (f"WHERE {' AND '.join(where)} " if where else "")
        + "ORDER BY a.published_at DESC, a.id DESC",
        params,
    ).fetchall()
    pages = []
    for row in rows:
        url, ts = row["capture_url"], row["warc_date"]
        if url is None or ts is None:
            # The catalog lacks the capture row (it can be rebuilt); the
            # record itself has the date py-wacz will match on.
            pointer = WarcPointer(row["warc_file"], row["warc_offset"], row["warc_length"])
            stored = read_record(warc_dir, pointer)
            url, ts = stored.url, stored.warc_date
        pages.append(Page(str(url), str(ts), str(row["title"] or row["article_url"])))
    return pages


def _write_pages(path: Path, pages: list[Page], title: str) -> None:
    header = {"format": PAGES_FORMAT, "id": "pages", "title": title}
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for page in pages:
            fh.write(page.as_json() + "\n")


def _run_wacz(argv: list[str]) -> tuple[int, str]:
    """Run py-wacz's CLI in-process with its progress prints captured."""
    from wacz.main import main as wacz_main  # heavy import, only when exporting

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            code = wacz_main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:
        raise WaczExportError(f"wacz create failed: {exc}; {_tail(printed.getvalue())}") from exc
    return int(code or 0), printed.getvalue()


def _tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "wacz said: " + " | ".join(kept) if kept else "wacz printed nothing"


def export_wacz(
    layout: ArchiveLayout,
    output: Path,
    *,
    title: str = "uir-news 国关要闻",
    description: str = "Snapshots of the 国关要闻 column of 国际关系学院",
    site: str | None = None,
    column: str | None = None,
) -> WaczSummary:
    """Write the archive's closed WARCs and page list to ``output`` as a WACZ.

    With ``site`` or ``column`` the page list holds only that site's or
    column's articles, and only the WARC files holding a capture of that
    site (or of those articles) are packaged; a WARC file of a multi-site
    crawl holds every site of that run, so other sites' captures may come along.

    The file appears only when complete (temp file + rename). Raises
    WaczExportError when there is nothing to export, py-wacz fails, or a
    page matches no capture; ``output`` is then left as it was.
    """
    warcs = list_warcs(layout.warc_dir)
    if not warcs:
        raise WaczExportError(f"no closed WARC files in {layout.warc_dir}")
    conn = catalog.connect(layout.catalog_path)
    try:
        pages = current_pages(conn, layout.warc_dir, site=site, column=column)
        if site is not None or column is not None:
            if not pages:
                raise WaczExportError(
                    f"no archived articles of {' / '.join(x for x in (site, column) if x)}"
                )
            warcs = _warcs_of(conn, warcs, pages, site)
    finally:
        conn.close()
    output = output.expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=output.parent) as scratch:
        pages_path = Path(scratch) / "pages.jsonl"
        _write_pages(pages_path, pages, title)
        partial = Path(scratch) / "export.wacz"
        argv: list[str] = ["create", "-o", str(partial), "--title", title, "--desc", description]
        if pages:
            argv += ["-p", str(pages_path)]
        code, printed = _run_wacz([*argv, *map(str, warcs)])
        if code != 0:
            raise WaczExportError(f"wacz create exited {code}; {_tail(printed)}")
        unmatched = [line for line in printed.splitlines() if line.startswith(_UNMATCHED)]
        if unmatched:
            raise WaczExportError(
                f"{len(unmatched)} page(s) match no capture in the WARCs "
                f"(first: {unmatched[0].removeprefix(_UNMATCHED).strip()})"
            )
        _check_package(partial, len(pages))
        os.replace(partial, output)
    return WaczSummary(output, len(warcs), len(pages), output.stat().st_size)


def _warcs_of(
    conn: sqlite3.Connection, warcs: list[Path], pages: list[Page], site: str | None
) -> list[Path]:
    """The WARC files holding a capture of one of ``pages``, or of ``site``."""
    urls = {page.url for page in pages}
    names: set[str] = set()
    for url, warc_file in conn.execute("SELECT url, warc_file FROM captures"):
        if url in urls or (site is not None and _site_of(str(url)) == site.lower()):
            names.add(str(warc_file))
    return [path for path in warcs if path.name in names]


def _site_of(url: str) -> str:
    from record import site_of

    return site_of(url)


def _check_package(path: Path, pages: int) -> None:
    # py-wacz leaves out pages/pages.jsonl when no page matched; an export we
    # would ship must hold every page we passed.
    with zipfile.ZipFile(path) as wacz:
        names = set(wacz.namelist())
        for required in ("datapackage.json", "datapackage-digest.json"):
            if required not in names:
                raise WaczExportError(f"wacz create wrote no {required}")
        if pages:
            if "pages/pages.jsonl" not in names:
                raise WaczExportError("wacz create wrote no pages/pages.jsonl")
            lines = wacz.read("pages/pages.jsonl").decode("utf-8").splitlines()
            listed: list[Any] = [json.loads(line) for line in lines if line.strip()]
            found = sum(1 for entry in listed if "format" not in entry)
            if found != pages:
                raise WaczExportError(f"pages/pages.jsonl lists {found} of {pages} pages")
