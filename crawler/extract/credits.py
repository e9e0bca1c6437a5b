"""Credit lines (一校/二校/终审 and the other 三审三校 labels, 文/图, 编辑, 来源 …): fields.

A credit line is a short line made only of `role：names` segments. Running text that merely
mentions a role ("论文进入终审阶段。", "编辑部主任张三表示…") is not one: a role must be followed
by a colon (or a slash for 文/图) and every value must look like a list of names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

from crawler.extract.text import normalize
from record import CREDIT_ROLES, Reviewers, RoleLabels
from record import Credits as CreditRoles

#: Role label → (record section, field); None for roles the schema has no field for.
ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    # The 三审三校 chain under its several names: the first, second and final check.
    # `Credits.labels` keeps the label the page printed (初审, 一审...) in role_labels.
    "一校": (("reviewers", "first_proofreader"),),
    "初审": (("reviewers", "first_proofreader"),),
    "一审": (("reviewers", "first_proofreader"),),
    "二校": (("reviewers", "second_proofreader"),),
    "复审": (("reviewers", "second_proofreader"),),
    "二审": (("reviewers", "second_proofreader"),),
    "终审": (("reviewers", "final_reviewer"),),
    "三审": (("reviewers", "final_reviewer"),),
    "作者": (("credits", "author"),),
    "文字": (("credits", "author"),),
    "文": (("credits", "author"),),
    "撰稿": (("credits", "writer"),),
    "撰文": (("credits", "writer"),),
    "摄影": (("credits", "photographer"),),
    "图片": (("credits", "photographer"),),
    "图": (("credits", "photographer"),),
    "文/图": (("credits", "author"), ("credits", "photographer")),
    "图/文": (("credits", "photographer"), ("credits", "author")),
    "文图": (("credits", "author"), ("credits", "photographer")),
    "图文": (("credits", "photographer"), ("credits", "author")),
    "责任编辑": (("credits", "responsible_editor"),),
    "责编": (("credits", "responsible_editor"),),
    "编辑": (("credits", "editor"),),
    "审核": (("credits", "auditor"),),
    # 编审 (编辑审核) names a review without saying which stage of the chain it is,
    # so it is the page's auditor, like 审核, not a guess at 二审 or 终审.
    "编审": (("credits", "auditor"),),
    "稿件来源": (("credits", "source"),),
    "新闻来源": (("credits", "source"),),
    "信息来源": (("credits", "source"),),
    "文章来源": (("credits", "source"),),
    "来源": (("credits", "source"),),
    "供稿单位": (("credits", "contributing_unit"),),
    "供稿": (("credits", "contributing_unit"),),
    # recognised (so the line leaves the body) but without a schema field
    "三校": (),
    "校对": (),
    "审校": (),
    "审稿": (),
    "通讯员": (),
    "记者": (),
    "美编": (),
    "排版": (),
    "视频": (),
    "摄像": (),
}
#: Roles that may be followed by a slash instead of a colon (`文/张三 图/李四`).
_SLASH_ROLES = ("文字", "图片", "摄影", "文", "图")
_LABELS = "|".join(re.escape(role) for role in sorted(ROLES, key=len, reverse=True))
_SLASH = "|".join(re.escape(role) for role in _SLASH_ROLES)
_BOUNDARY = r"(?:^|(?<=[\s|｜,，;；、（(【\[\]】)）]))"
ROLE_LABEL = re.compile(
    rf"{_BOUNDARY}(?:(?P<role>{_LABELS})\s*[:：]|(?P<slash_role>{_SLASH})\s*[/／](?![/／]))\s*"
)
_NAME_SPLIT = re.compile(r"[、，,；;\s/／|｜]+")
_NOT_A_NAME = re.compile(r"[。！？!?:：“”\"《》]")
_BRACKETS = {"（": "）", "(": ")", "【": "】", "[": "]"}
_TRIM = " |｜,，;；、。．."
_NAME_TRIM = _TRIM + "[]【】()（）"
#: Longest line still taken for a credit line, and longest single name.
MAX_CREDIT_LINE = 150
MAX_NAME = 30
MAX_NAMES = 8


@dataclass
class Credits:
    """Names by field, in page order; `unmapped` lists roles seen that have no schema field."""

    reviewers: dict[str, list[str]] = field(
        default_factory=lambda: {
            "first_proofreader": [],
            "second_proofreader": [],
            "final_reviewer": [],
        }
    )
    credits: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    #: The label the page printed for each filled field (the first, when it prints several).
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, role: str, names: list[str]) -> None:
        targets = ROLES[role]
        if not targets and role not in self.unmapped:
            self.unmapped.append(role)
        for section, key in targets:
            bucket = self.reviewers if section == "reviewers" else self.credits
            if not names:
                continue
            existing = bucket.setdefault(key, [])
            existing.extend(name for name in names if name not in existing)
            self.labels.setdefault(key, role)

    def reviewers_field(self) -> Reviewers:
        """The record's ``reviewers``: every review role, empty where the page names nobody."""
        return Reviewers(
            first_proofreader=self.reviewers["first_proofreader"],
            second_proofreader=self.reviewers["second_proofreader"],
            final_reviewer=self.reviewers["final_reviewer"],
        )

    def credits_field(self) -> CreditRoles:
        """The record's ``credits``: only the roles the page names."""
        # ROLES maps every label to record.CREDIT_ROLES names (test_record_model
        # holds the table against the schema), so the keys are the TypedDict's.
        return cast(CreditRoles, {r: self.credits[r] for r in CREDIT_ROLES if r in self.credits})

    def labels_field(self) -> RoleLabels:
        """The record's ``role_labels``: the page's own label of every role it names."""
        return cast(RoleLabels, dict(self.labels))

    def merge(self, other: Credits) -> None:
        for key, names in other.reviewers.items():
            existing = self.reviewers[key]
            existing.extend(n for n in names if n not in existing)
        for key, names in other.credits.items():
            existing = self.credits.setdefault(key, [])
            existing.extend(n for n in names if n not in existing)
        self.unmapped.extend(r for r in other.unmapped if r not in self.unmapped)
        for key, label in other.labels.items():
            self.labels.setdefault(key, label)


def _unbracket(text: str) -> str:
    while len(text) >= 2 and _BRACKETS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def split_names(value: str) -> list[str] | None:
    """Names in a credit value (`吴茜、李婧`, `张三 李四`); None if it is not a name list."""
    value = value.strip(_TRIM)
    if not value:
        return []
    if _NOT_A_NAME.search(value):
        return None
    names = [n.strip(_NAME_TRIM) for n in _NAME_SPLIT.split(value)]
    names = [n for n in names if n]
    if len(names) > MAX_NAMES or any(len(n) > MAX_NAME for n in names):
        return None
    return names


def segments(text: str) -> list[tuple[str, str]] | None:
    """`role：value` pairs if the whole of `text` is made of them, else None."""
    matches = list(ROLE_LABEL.finditer(text))
    if not matches or text[: matches[0].start()].strip(_TRIM):
        return None
    pairs = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        role = match.group("role") or match.group("slash_role")
        pairs.append((role, text[match.end() : end]))
    return pairs


def parse_credit_line(line: str) -> Credits | None:
    """Credits of a line that consists only of credits (brackets allowed around it), else None."""
    text = _unbracket(normalize(line))
    if not text or len(text) > MAX_CREDIT_LINE:
        return None
    pairs = segments(text)
    if pairs is None:
        return None
    found = Credits()
    for role, value in pairs:
        names = split_names(_unbracket(value.strip(_TRIM)))
        if names is None:
            return None
        found.add(role, names)
    return found


_OPENERS = re.compile(r"[（(【\[]")
_SENTENCE_END = re.compile(r"[。！？!?；;…]")


def trailing_credit(text: str) -> tuple[int, Credits] | None:
    """A credit run at the end of a paragraph of running text: `……。（编辑：付晓歌）`.

    Returns (index in `text` where the credit starts, credits); None if there is none or the
    whole text is a credit line (use `parse_credit_line` for that).
    """
    stripped = text.rstrip()
    if not stripped or stripped[-1] not in "）)】]":
        return _unbracketed_tail(text)
    for opener in reversed(list(_OPENERS.finditer(stripped))):
        start = opener.start()
        if not stripped[:start].strip():
            return None
        found = parse_credit_line(stripped[start:])
        if found is not None:
            return start, found
    return None


def _unbracketed_tail(text: str) -> tuple[int, Credits] | None:
    """`……增光添彩。 一校：吴茜 二校：李婧`: a credit run after the last sentence end."""
    ends = list(_SENTENCE_END.finditer(text))
    if not ends:
        return None
    start = ends[-1].end()
    tail = text[start:]
    first = ROLE_LABEL.search(tail)
    # single-character roles (文/图) are too ambiguous without brackets
    if not tail.strip() or first is None or len(first.group("role") or "") < 2:
        return None
    found = parse_credit_line(tail)
    return (start, found) if found is not None else None


# Where a value on an info line ends: a run of spaces, the next "label：", or a
# known label or a date glued straight to it (themes put each item in its own
# span with no space between, so the text runs together).
_INFO_VALUE_END = re.compile(
    r"\s{2,}|\s+\S+\s*[:：]"
    r"|(?:浏览|点击|阅读|访问|发布|时间|日期|作者|来源|编辑|摄影|撰稿|审核|供稿)\S{0,4}\s*[:：]"
    r"|\d{4}\s*[-年/.]"
)


# A "label：" glued to what precedes it on an info line gets a space first.
_GLUED_LABEL = re.compile(rf"(?<=\S)((?:{_LABELS})\s*[:：])")


def parse_info_line(line: str) -> Credits:
    """Credits inside a mixed info line: `作者:教务管理科 时间：2026-06-23 点击数：`."""
    line = _GLUED_LABEL.sub(r" \1", line)
    found = Credits()
    for match in ROLE_LABEL.finditer(line):
        role = match.group("role")
        if not role:  # 文/图 slashes inside an info line are not credits
            continue
        rest = line[match.end() :]
        end = _INFO_VALUE_END.search(rest)
        value = (rest[: end.start()] if end else rest).strip(_TRIM)
        names = split_names(value)
        if names:
            found.add(role, names)
    return found
