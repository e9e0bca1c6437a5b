"""Synthetic article records, valid against record/record.schema.json.

``make_record`` builds one record with sensible defaults; ``random_records``
builds a reproducible corpus of realistic-looking 国关要闻 articles from a
vocabulary of news phrases (used by the tests and bench/bench_search.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

BASE = "https://www.uir.edu.cn"

PHRASES = (
    "国际关系学院",
    "党建",
    "校长",
    "党支部",
    "基层党建",
    "高质量发展",
    "人才培养",
    "学术研讨会",
    "国家安全",
    "国际政治",
    "外交学",
    "师生代表",
    "座谈会",
    "主题教育",
    "学习贯彻",
    "习近平新时代中国特色社会主义思想",
    "立德树人",
    "专题讲座",
    "北京高校",
    "教育工委",
    "全国高校",
    "思想政治工作",
    "创新创造创优",
    "四强党支部",
    "研究生",
    "本科生",
    "毕业典礼",
    "开学典礼",
    "国际交流",
    "合作办学",
    "公共管理",
    "网络空间安全",
    "文化交流",
    "志愿服务",
    "社会实践",
    "图书馆",
    "学科建设",
    "科研成果",
    "青年教师",
    "一带一路",
    "人类命运共同体",
    "全球治理",
    "区域国别学",
    "中外人文交流",
    "校友",
    "院党委",
    "副院长",
    "党委书记",
    "纪念",
    "论坛",
    "UIR",
    "COVID-19",
    "Model UN",
    "G20",
    "APEC",
    "Peking University",
)
CONNECTIVES = (
    "，",
    "。",
    "、",
    "；",
    "在",
    "和",
    "与",
    "的",
    "围绕",
    "关于",
    "推动",
    "深入",
    "举办",
    "开展",
    "召开",
    "参加",
    "指出",
    "强调",
    "表示",
    "进一步",
    "共同",
    "期间",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰"
NAMES = tuple(
    sorted({s + g + h for s in SURNAMES[:20] for g in GIVEN[:8] for h in ("", GIVEN[10])})
)


def make_record(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid record for article ``i``; any field can be overridden."""
    news_id = 10000 + i
    record: dict[str, Any] = {
        "schema_version": 2,
        "url": f"{BASE}/info/1031/{news_id}.htm",
        "site": urlsplit(BASE).netloc,
        "title": f"测试新闻 {i}",
        "published_at": "2024-05-01",
        "published_at_raw": "2024-05-01",
        "body_text": f"正文第{i}篇。",
        "body_html": f"<p>正文第{i}篇。</p>",
        "reviewers": {"first_proofreader": [], "second_proofreader": [], "final_reviewer": []},
        "credits": {},
        "role_labels": {},
        "images": [],
        "attachments": [],
        "body_pdf": None,
        "column": "国关要闻",
        "column_id": 1031,
        "news_id": news_id,
        "prev_url": None,
        "next_url": None,
        "view_count": None,
        "listing": None,
        "warnings": [],
        "fetched_at": "2025-07-20T08:00:00Z",
        "warc": {"file": "uir-news-00000.warc.gz", "offset": 0, "length": 100},
    }
    record.update(overrides)
    if "body_html" not in overrides:
        paragraphs = str(record["body_text"]).split("\n")
        record["body_html"] = "".join(f"<p>{p}</p>" for p in paragraphs)
    return record


_PREFIXES = (
    "国际",
    "国家",
    "全球",
    "区域",
    "青年",
    "学生",
    "教师",
    "学术",
    "文化",
    "网络",
    "安全",
    "经济",
    "政治",
    "历史",
    "法学",
    "外语",
    "新闻",
    "传播",
    "管理",
    "信息",
    "英语",
    "日语",
)
_SUFFIXES = (
    "研究中心",
    "论坛",
    "讲座",
    "项目",
    "课程",
    "研讨会",
    "工作坊",
    "竞赛",
    "报告会",
    "调研",
    "培训班",
    "交流会",
    "座谈会",
    "评审",
    "实践团",
)
_PLACES = (
    "北京",
    "上海",
    "香港",
    "澳门",
    "台湾",
    "美国",
    "俄罗斯",
    "日本",
    "韩国",
    "英国",
    "法国",
    "德国",
    "意大利",
    "西班牙",
    "巴西",
    "印度",
    "南非",
    "埃及",
    "东盟",
    "欧盟",
    "非洲",
    "中亚",
    "中东",
    "拉美",
    "海淀区",
    "杭州",
    "西安",
    "成都",
    "武汉",
    "南京",
)
#: Topic vocabulary, most frequent first: article topics are drawn with Zipf
#: weights, so a few words occur in most articles and most in few (as in news).
VOCABULARY = (
    PHRASES[:1]
    + tuple(p + s for s in _SUFFIXES for p in _PREFIXES[:6])
    + PHRASES[1:]
    + _PLACES
    + tuple(p + s for s in _SUFFIXES for p in _PREFIXES[6:])
)
_ZIPF = tuple(1.0 / (rank + 1) for rank in range(len(VOCABULARY)))
#: Everyday words that appear in nearly every article.
GENERAL = (
    "工作",
    "活动",
    "发展",
    "建设",
    "学习",
    "教育",
    "会议",
    "同志",
    "领导",
    "学校",
    "老师",
    "同学",
    "组织",
    "精神",
    "重要",
    "进行",
    "提出",
    "介绍",
    "希望",
    "要求",
    "取得",
    "成果",
    "经验",
    "问题",
    "方面",
    "全面",
    "积极",
    "认真",
    "充分",
    "大家",
    "今年",
    "近年来",
)


def _sentence(rng: random.Random, topics: list[str]) -> str:
    words = []
    for _ in range(rng.randint(7, 17)):
        roll = rng.random()
        if roll < 0.35:
            words.append(rng.choice(topics))
        elif roll < 0.7:
            words.append(rng.choice(GENERAL))
        else:
            words.append(rng.choice(CONNECTIVES))
    return "".join(words) + "。"


def random_body(rng: random.Random, low: int = 800, high: int = 1500) -> str:
    """Paragraphs of news-like text, ``low``..``high`` characters long."""
    topics = rng.choices(VOCABULARY, weights=_ZIPF, k=rng.randint(3, 8))
    target = rng.randint(low, high)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        paragraph = "".join(_sentence(rng, topics) for _ in range(rng.randint(2, 5)))
        paragraphs.append(paragraph)
        size += len(paragraph) + 1
    return "\n".join(paragraphs)[:target]


def random_record(
    i: int, rng: random.Random, *, low: int = 800, high: int = 1500
) -> dict[str, Any]:
    """A realistic article dated between 2005 and 2026."""
    day = date(2005, 1, 1) + timedelta(days=rng.randint(0, 365 * 21 + 150))
    has_time = rng.random() < 0.3
    published = (
        f"{day.isoformat()}T{rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}:00+08:00"
        if has_time
        else day.isoformat()
    )
    title = "".join(rng.choices(VOCABULARY, weights=_ZIPF, k=rng.randint(2, 4)))
    n_attach = rng.choice((0, 0, 0, 0, 1, 2))
    credits: dict[str, list[str]] = {}
    if rng.random() < 0.7:
        credits["author"] = [rng.choice(NAMES)]
    if rng.random() < 0.5:
        credits["photographer"] = rng.sample(NAMES, rng.randint(1, 2))
    fetched = datetime(2025, 7, 20, tzinfo=UTC) + timedelta(seconds=i)
    return make_record(
        i,
        title=title,
        published_at=published,
        published_at_raw=published.replace("T", " ")[:16],
        body_text=random_body(rng, low, high),
        reviewers={
            "first_proofreader": [rng.choice(NAMES)],
            "second_proofreader": [rng.choice(NAMES)] if rng.random() < 0.9 else [],
            "final_reviewer": [rng.choice(NAMES)],
        },
        credits=credits,
        images=[
            {"url": f"{BASE}/__local/{i}_{k}.jpg", "caption": rng.choice((None, "合影"))}
            for k in range(rng.randint(0, 3))
        ],
        attachments=[
            {"url": f"{BASE}/system/_content/download.jsp?id={i}{k}", "name": f"附件{k + 1}.pdf"}
            for k in range(n_attach)
        ],
        view_count=rng.choice((None, rng.randint(10, 5000))),
        fetched_at=fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def random_records(n: int, seed: int = 5, **kwargs: Any) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield random_record(i, rng, **kwargs)
