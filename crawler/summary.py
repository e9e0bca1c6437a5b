"""The run summary (``runs/{run_id}.json``) and the exit codes of a crawl.

:class:`RunSummary` is what :class:`crawler.extensions.ArchiveRun` writes at
the end of every run that held the archive, what ``uir-news crawl`` prints,
and what the catalog's ``runs`` table stores. Its JSON form keeps the keys
of every earlier summary; :meth:`RunSummary.from_json` reads old ones too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crawler.exit_codes import ExitCode
from crawler.failures import Problem

__all__ = [
    "ColumnFound",
    "ColumnReport",
    "ExitCode",
    "RequisiteCounts",
    "RunSummary",
    "exit_code_for",
]


def exit_code_for(
    *,
    archiver_error: str | None,
    records: int,
    listing_pages: int,
    alarms: list[str],
    failures: int,
    column_missing: bool = False,
    damage: bool = False,
    disk_full: bool = False,
) -> ExitCode:
    """The exit code of a finished run, the worst outcome first.

    A column that moved and was found again is not a failure; one not found is.
    """
    if disk_full:
        return ExitCode.DISK_FULL
    if archiver_error or column_missing or (records == 0 and listing_pages == 0):
        return ExitCode.FAILED
    if alarms:
        return ExitCode.LAYOUT_ALARM
    if damage:
        return ExitCode.DAMAGED
    if failures:
        return ExitCode.PARTIAL
    return ExitCode.OK


@dataclass
class ArticleCounts:
    seen: int = 0
    new_versions: int = 0
    edited: int = 0
    unchanged: int = 0
    rechecked: int = 0
    invalid: int = 0
    too_large: int = 0
    #: Articles an earlier run lost for good (too large...), not asked for again.
    permanent_failures_skipped: int = 0


@dataclass
class WarcCounts:
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    records: int = 0
    revisits: int = 0


@dataclass
class RequisiteCounts:
    """Page requisites (images, attachments, style sheets, scripts) of the run's articles."""

    requested: int = 0
    fetched: int = 0
    unchanged: int = 0
    failed: int = 0
    bytes: int = 0
    robots_disallowed: int = 0
    offsite_skipped: int = 0


@dataclass
class ColumnFound:
    """Where the run found the column it archives, and why (``--column`` runs only).

    ``url`` is None when it was not found. ``moved_from`` is the remembered URL
    when that stopped being a listing of the column and the run found it again.
    """

    name: str
    url: str | None
    found_by: str
    moved_from: str | None = None


@dataclass
class ColumnReport:
    """One column of the run: where, what it is called, how it was walked, what it yielded.

    ``key`` is the column in the catalog and the run's counts (``host[:port] id``,
    else ``host[:port] name``); ``alarms`` are this column's layout alarms.
    """

    key: str
    site: str
    name: str | None
    id: int | None
    start_url: str | None
    walk: str
    listing_pages: int = 0
    records: int = 0
    field_fill: dict[str, int] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)


@dataclass
class PeakRss:
    """Peak resident memory of each process, in MB."""

    crawl: float = 0.0
    archiver: float | None = None


@dataclass
class RunSummary:
    """One run, as ``runs/{run_id}.json`` records it."""

    run_id: str
    start_url: str
    archive: str
    started_at: str
    finished_at: str
    exit_code: ExitCode
    duration_s: float = 0.0
    cpu_s: float = 0.0
    archiver_cpu_s: float | None = None
    peak_rss_mb: PeakRss = field(default_factory=PeakRss)
    #: Pages the crawl process parsed itself while the archiver was behind.
    parsed_in_crawl_process: int = 0
    finish_reason: str | None = None
    #: "full" or "incremental".
    walk: str = "full"
    requests: int = 0
    responses: int = 0
    response_bytes: int = 0
    listing_pages: int = 0
    articles: ArticleCounts = field(default_factory=ArticleCounts)
    warc: WarcCounts = field(default_factory=WarcCounts)
    requisites: RequisiteCounts = field(default_factory=RequisiteCounts)
    field_fill: dict[str, int] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)
    problem_counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    failures: int = 0
    external_items: list[dict[str, Any]] = field(default_factory=list)
    #: What the run repaired before crawling, after a killed run (None: nothing).
    recovery: dict[str, Any] | None = None
    archiver_error: str | None = None
    pid: int = 0
    #: The column found by name (None: started at a listing URL, no discovery).
    column: ColumnFound | None = None
    #: Damage found in the archive this run (file@offset: what); the data around it was kept.
    damage: list[str] = field(default_factory=list)
    #: Events the run saw, by kind (new, edited, removed, unlisted, restored); absent kinds: 0.
    events: dict[str, int] = field(default_factory=dict)
    #: Every column of the run, in the order given.
    columns: list[ColumnReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON-ready data, with the keys every summary has had."""
        data = asdict(self)
        data["exit_code"] = int(self.exit_code)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        """A summary read back from ``runs/*.json`` (missing counts read as zero)."""
        rss = data.get("peak_rss_mb") or {}
        return cls(
            run_id=str(data["run_id"]),
            start_url=str(data.get("start_url", "")),
            archive=str(data.get("archive", "")),
            started_at=str(data.get("started_at", "")),
            finished_at=str(data.get("finished_at", "")),
            exit_code=ExitCode(int(data.get("exit_code", ExitCode.OK))),
            duration_s=float(data.get("duration_s", 0.0)),
            cpu_s=float(data.get("cpu_s", 0.0)),
            archiver_cpu_s=data.get("archiver_cpu_s"),
            peak_rss_mb=PeakRss(**rss) if isinstance(rss, dict) else PeakRss(),
            parsed_in_crawl_process=int(data.get("parsed_in_crawl_process", 0)),
            finish_reason=data.get("finish_reason"),
            walk=str(data.get("walk", "full")),
            requests=int(data.get("requests", 0)),
            responses=int(data.get("responses", 0)),
            response_bytes=int(data.get("response_bytes", 0)),
            listing_pages=int(data.get("listing_pages", 0)),
            articles=ArticleCounts(**data.get("articles", {})),
            warc=WarcCounts(**data.get("warc", {})),
            requisites=RequisiteCounts(**data.get("requisites", {})),
            field_fill=dict(data.get("field_fill", {})),
            alarms=list(data.get("alarms", [])),
            problem_counts=dict(data.get("problem_counts", {})),
            problems=[Problem.from_json(p) for p in data.get("problems", [])],
            failures=int(data.get("failures", 0)),
            external_items=list(data.get("external_items", [])),
            recovery=data.get("recovery"),
            archiver_error=data.get("archiver_error"),
            pid=int(data.get("pid", 0)),
            column=ColumnFound(**data["column"]) if data.get("column") else None,
            damage=[str(item) for item in data.get("damage", [])],
            events={str(k): int(v) for k, v in (data.get("events") or {}).items()},
            columns=[ColumnReport(**c) for c in data.get("columns", [])],
        )
