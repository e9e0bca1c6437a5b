"""Deterministic generator of realistic 国关要闻 news items (titles, prose, credits).

All randomness comes from the `random.Random` handed in, so a seed fixes every
character. Prose is assembled from topic-specific sentence patterns filled from
small vocabularies; the vocabularies are chosen so that full-text search tests
find 2-, 3- and 4-character words (and Latin words such as AI and BRICS) in some
articles but not in others. `SEARCH_TERMS` lists such words; which articles
contain one is a question for `ReplicaSite.articles_matching`, not a constant.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from replica.model import (
    CREDIT_LABELS,
    Article,
    Attachment,
    Block,
    Credit,
    Figure,
    Paragraph,
    Presentation,
    TemplateName,
)

#: Templates whose header line prints one credit role (and so always has one to print).
HEADER_ROLES: dict[str, str] = {"titlestyle": "author", "cndate": "source"}

# Words that appear in a strict, non-empty subset of a default site's articles.
SEARCH_TERMS: tuple[str, ...] = (
    "金砖",
    "量子",
    "网球",
    "外交部",
    "区块链",
    "联合国",
    "人工智能",
    "区域国别",
    "乡村振兴",
    "AI",
    "BRICS",
)

CN_NUM = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三")

FACULTY = (
    "王晓东",
    "李佳怡",
    "张宏伟",
    "刘敏",
    "陈思远",
    "杨帆",
    "赵雪",
    "黄志强",
    "周婷",
    "吴昊",
    "徐静",
    "孙立新",
    "马骁",
    "朱丽华",
    "胡斌",
    "郭蕾",
    "何晨",
    "林海燕",
    "罗刚",
    "高远",
    "宋佳",
    "郑凯",
    "韩梅",
    "曹阳",
    "许文博",
    "邓蓉",
    "冯子健",
    "唐雨桐",
)
STAFF = (
    "付晓歌",
    "吴茜",
    "李婧",
    "陈斌",
    "王璐",
    "张琳",
    "刘洋",
    "赵敏",
    "孙悦",
    "周航",
    "钱程",
    "蒋欣",
    "沈青",
    "韩笑",
    "杨柳",
    "秦朗",
    "姚瑶",
    "卢森",
)
# 终审 is signed off by senior staff.
FINAL_REVIEWERS = ("范立群", "庞振宇", "秦海波", "陈斌")
STUDENTS = (
    "李沐阳",
    "王子涵",
    "陈雨萱",
    "张一鸣",
    "刘思琪",
    "赵梓轩",
    "黄欣怡",
    "周子墨",
    "吴可馨",
)
# Fictional office holders: generated news must not put words in real people's mouths.
LEADERS = (
    ("院党委书记", "范立群"),
    ("院党委常委、副院长", "庞振宇"),
    ("院党委专职副书记、纪委书记", "秦海波"),
    ("副院长", "高建平"),
    ("副院长", "林振华"),
    ("院长助理", "马文涛"),
)
UNITS = (
    "国际政治系",
    "外交学系",
    "国际经济系",
    "英语系",
    "法律系",
    "公共管理系",
    "文化与传播系",
    "信息科技系",
    "研究生部",
    "教务处",
    "学生工作部",
    "国际交流处",
    "科研处",
    "图书馆",
    "体育部",
    "马克思主义学院",
)
SOURCE_UNITS = ("党委宣传部", "国际交流处", "教务处", "研究生部", "学生工作部", "科研处", "校团委")
VENUES = ("学术报告厅", "图书馆报告厅", "行政楼第一会议室", "国关大讲堂", "教学楼208教室", "体育馆")
FOREIGN_UNIVS = (
    ("莫斯科国立国际关系学院", "俄罗斯"),
    ("新加坡国立大学", "新加坡"),
    ("东京大学", "日本"),
    ("日内瓦高级国际关系与发展学院", "瑞士"),
    ("开罗大学", "埃及"),
    ("圣保罗大学", "巴西"),
    ("约翰内斯堡大学", "南非"),
    ("首尔国立大学", "韩国"),
    ("布鲁塞尔自由大学", "比利时"),
)
FOREIGN_GUESTS = ("伊万诺夫", "陈志明", "佐藤健", "穆罕默德·阿里", "席尔瓦", "金敏俊", "杜邦")
TOPICS = (
    "全球治理",
    "国家安全",
    "大国关系",
    "公共外交",
    "国际法治",
    "网络空间治理",
    "数字经济",
    "周边外交",
    "国际传播",
    "能源安全",
)
COMPETITIONS = (
    ("全国大学生英语演讲比赛", "一等奖"),
    ("“外研社·国才杯”英语辩论赛", "二等奖"),
    ("首都高校模拟联合国大会", "最佳代表团奖"),
    ("“挑战杯”首都大学生课外学术科技作品竞赛", "三等奖"),
    ("全国高校区块链应用创新大赛", "优胜奖"),
    ("北京市大学生网球锦标赛", "团体亚军"),
)
JOURNALS = ("中国社会科学", "世界经济与政治", "国际问题研究", "外交评论", "当代亚太")
LECTURE_SERIES = ("国关名家讲坛", "区域国别学前沿讲座", "博雅讲堂", "青年学者沙龙")
LECTURE_TOPICS = (
    "人工智能时代的国际安全",
    "百年变局下的大国关系",
    "金砖国家合作的新机遇",
    "量子科技与国家安全",
    "数字时代的国际传播",
    "联合国与全球治理",
)
ATTACHMENT_NAMES = (
    "{year}年招生简章.pdf",
    "{year}年硕士研究生招生专业目录.pdf",
    "附件1：报名表.docx",
    "{year}年度优秀共产党员名单.pdf",
    "会议日程安排.pdf",
    "获奖名单.xlsx",
)


@dataclass(frozen=True)
class Topic:
    """Sentence patterns for one kind of news item."""

    titles: tuple[str, ...]
    openings: tuple[str, ...]
    sentences: tuple[str, ...]
    closings: tuple[str, ...]
    captions: tuple[str, ...]
    attachment_chance: float = 0.0


GENERIC = (
    "{leader_role}{leader}出席活动并讲话。",
    "{leader}指出，要坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的教育方针。",
    "{person}表示，学院将进一步发挥学科特色和人才优势，服务国家战略需求。",
    "与会人员围绕{topic}等议题进行了深入交流，气氛热烈。",
    "活动吸引了{count}余名师生参加，现场座无虚席。",
    "大家纷纷表示，收获很大、启发很深，将把所学所思转化为推动工作的实际成效。",
    "{unit}负责人介绍了近年来在人才培养、科学研究和社会服务方面取得的进展。",
    "本次活动由{unit}承办，{unit2}协办。",
    "会上，{person2}结合自身经历分享了在{topic}领域开展研究的体会。",
    "随着人工智能（AI）技术的快速发展，{topic}研究面临新的机遇和挑战。",
    "金砖国家（BRICS）合作机制不断深化，为发展中国家参与{topic}提供了新平台。",
    "学院将以此为契机，进一步推进区域国别学学科建设，培养具有全球视野的复合型人才。",
    "近年来，学院持续推进联合国相关课程建设，多名学生赴国际组织实习。",
)

TOPIC_TABLE: dict[str, Topic] = {
    "conference": Topic(
        titles=(
            "我院举办“{topic}”学术研讨会",
            "第{n}届{topic}论坛在我院举行",
            "聚焦{topic} 共话{topic2}——国际关系学院第{n}届{topic}学术年会暨青年学者论坛成功举办",
            "凝聚共识 共谋发展 I 我院主办{topic}与{topic2}高端论坛",
            "“{topic}与{topic2}”学术研讨会在我院召开",
        ),
        openings=(
            "{m}月{d}日，由国际关系学院主办的“{topic}”学术研讨会在{venue}举行。",
            "{m}月{d}日至{d2}日，第{n}届{topic}论坛在我院召开，来自全国{count2}所高校和研究机构的专家学者参加会议。",
            "{m}月{d}日，国际关系学院第{n}届{topic}学术年会暨青年学者论坛在{venue}举行，会议以“{topic}与{topic2}”为主题。",
            "{m}月{d}日，由我院主办的{topic}与{topic2}高端论坛在{venue}举行。",
            "{m}月{d}日，“{topic}与{topic2}”学术研讨会在我院召开，来自全国{count2}所高校的专家学者参加会议。",
        ),
        sentences=(
            "开幕式由{unit}主任{person}主持。",
            "{person2}以“{lecture_topic}”为题作主旨发言，系统阐释了当前国际格局的深刻变化。",
            "研讨会设置了{count3}个分论坛，与会学者围绕{topic}、{topic2}等议题展开热烈讨论。",
            "外交部有关司局负责人应邀出席并作专题报告。",
            "会议还发布了《{topic}年度报告（{year}）》，引起与会专家广泛关注。",
            "与会专家认为，区域国别研究应坚持问题导向，加强跨学科协同攻关。",
        ),
        closings=(
            "闭幕式上，{person}作总结发言，对与会专家学者的支持表示感谢。",
            "此次研讨会的成功举办，为推动{topic}研究搭建了高水平交流平台。",
        ),
        captions=("会议现场", "与会嘉宾合影", "{person2}作主旨发言", "分论坛研讨现场"),
    ),
    "visit_out": Topic(
        titles=(
            "我院代表团访问{foreign_univ}",
            "{leader}率团访问{country}并出席{topic}国际研讨会",
            "深化交流合作 拓展国际视野——我院代表团出访{country}",
        ),
        openings=(
            "应{foreign_univ}邀请，{leader_role}{leader}率我院代表团于{m}月{d}日赴{country}开展交流访问。",
            "{m}月{d}日至{d2}日，{leader_role}{leader}率团访问{country}{foreign_univ}，并出席{topic}国际研讨会。",
            "{m}月{d}日至{d2}日，我院代表团赴{country}访问{foreign_univ}。",
        ),
        sentences=(
            "访问期间，代表团与{foreign_univ}校领导举行会谈，双方就学生交换、联合研究等议题深入交换意见。",
            "双方签署了校际合作备忘录，决定在{topic}领域开展联合培养。",
            "代表团还拜会了中国驻{country}大使馆，并看望了在当地交流学习的我院学生。",
            "{leader}表示，学院高度重视与{country}高校的交流合作，愿与对方共同培养高素质国际化人才。",
        ),
        closings=(
            "此次出访进一步拓展了我院国际合作网络，为学院国际化办学注入新动力。",
            "国际交流处、{unit}负责人陪同访问。",
        ),
        captions=("会谈现场", "代表团与{foreign_univ}师生合影", "签约仪式现场"),
    ),
    "visit_in": Topic(
        titles=(
            "{foreign_univ}代表团来访我院",
            "{country}驻华大使到访国际关系学院并作专题演讲",
            "{foreign_univ}{foreign_guest}教授来访并作学术报告",
        ),
        openings=(
            "{m}月{d}日，{foreign_univ}代表团一行{count3}人来访我院。",
            "{m}月{d}日，{country}驻华大使应邀到访国际关系学院，并以“{lecture_topic}”为题作专题演讲。",
            "{m}月{d}日，{foreign_univ}{foreign_guest}教授来访我院，并以“{lecture_topic}”为题作学术报告。",
        ),
        sentences=(
            "{leader_role}{leader}会见了代表团一行，介绍了学院的历史沿革和办学特色。",
            "双方围绕师生互访、学分互认和联合科研等事宜进行了深入交流。",
            "演讲结束后，{foreign_guest}与现场师生进行了互动交流，回答了同学们关心的问题。",
            "代表团参观了校史馆和图书馆，对学院的人才培养成果给予高度评价。",
        ),
        closings=(
            "此次来访进一步增进了双方的了解与友谊，为今后深化合作奠定了良好基础。",
            "国际交流处、{unit}相关负责人参加会见。",
        ),
        captions=("会见现场", "{foreign_guest}作专题演讲", "宾主合影留念"),
    ),
    "party": Topic(
        titles=(
            "我院召开{year}年党风廉政建设工作会议",
            "{unit}党支部开展“{party_theme}”主题党日活动",
            "学院党委理论学习中心组开展{year}年第{n}次集体学习",
            "学思践悟 笃行致远 I {unit}党支部赴乡村振兴示范村开展主题党日活动",
        ),
        openings=(
            "{m}月{d}日下午，我院召开{year}年党风廉政建设工作会议。",
            "{m}月{d}日，{unit}党支部开展“{party_theme}”主题党日活动，支部全体党员参加。",
            "{m}月{d}日，学院党委理论学习中心组开展{year}年第{n}次集体学习。",
            "{m}月{d}日，{unit}党支部赴北京市郊乡村振兴示范村开展主题党日活动。",
        ),
        sentences=(
            "{leader_role}{leader}主持学习并讲话。",
            "与会同志结合工作实际交流了学习体会，一致认为要深刻领悟“两个确立”的决定性意义。",
            "支部党员实地参观了乡村振兴示范项目，深入了解当地产业发展情况。",
            "会议通报了上一年度党风廉政建设工作情况，部署了本年度重点任务。",
            "{leader}强调，要持续深化全面从严治党，以高质量党建引领学院高质量发展。",
        ),
        closings=(
            "大家表示，将以此次活动为契机，立足岗位作贡献，以实际行动践行初心使命。",
            "院领导班子成员、各基层党组织书记参加会议。",
        ),
        captions=("学习现场", "主题党日活动现场", "{leader}讲话"),
    ),
    "teaching": Topic(
        titles=(
            "我院召开{year}年本科教学工作会议",
            "我院{year}年硕士研究生招生复试工作顺利完成",
            "国际关系学院{year}年本科招生简章发布",
            "我院{count3}门课程获评北京高校优质本科课程",
        ),
        openings=(
            "{m}月{d}日，我院召开{year}年本科教学工作会议，总结教学工作成绩，部署下一阶段任务。",
            "近日，我院{year}年硕士研究生招生复试工作顺利完成。",
            "{m}月{d}日，国际关系学院正式发布{year}年本科招生简章。",
            "近日，北京市教委公布了北京高校优质本科课程名单，我院{count3}门课程入选。",
        ),
        sentences=(
            "教务处负责人通报了上一学年本科教学运行情况和教学质量监测结果。",
            "复试采取线下方式进行，各专业严格按照复试方案组织专业课笔试和综合面试。",
            "经过初审、复审和终审，共有{count}名考生进入拟录取名单。",
            "今年学院在{count3}个省份安排招生计划，新增区域国别学方向。",
            "学院将持续推进新文科建设，深化课程思政改革，打造一流本科专业。",
            "会议要求，各教学单位要把人工智能（AI）等新技术有机融入课堂教学。",
        ),
        closings=(
            "详情请见附件。",
            "学院将继续坚持公平公正原则，做好后续录取工作。",
        ),
        captions=("会议现场", "复试现场", "{leader}讲话"),
        attachment_chance=0.6,
    ),
    "student": Topic(
        titles=(
            "喜报 我院学子在{competition}中荣获{award}",
            "我院举行{year}届毕业典礼暨学位授予仪式",
            "我院{year}级新生开学典礼隆重举行",
            "“{student_theme}”主题团日活动顺利开展",
            "青春向党 奋斗强国 I 我院举办第{n}届“国关之声”校园歌手大赛",
        ),
        openings=(
            "近日，{competition}落下帷幕，我院学生{student}荣获{award}。",
            "{m}月{d}日，国际关系学院{year}届毕业典礼暨学位授予仪式在{venue}隆重举行。",
            "{m}月{d}日上午，我院{year}级新生开学典礼隆重举行，{count}余名新生参加典礼。",
            "{m}月{d}日，校团委组织开展“{student_theme}”主题团日活动。",
            "{m}月{d}日晚，我院第{n}届“国关之声”校园歌手大赛决赛在{venue}举行。",
        ),
        sentences=(
            "比赛历经校内选拔、初赛、复赛等环节，经过终审评议，我院代表队脱颖而出。",
            "指导教师{person}长期坚持指导学生参加学科竞赛，积累了丰富经验。",
            "{leader_role}{leader}为毕业生代表拨穗并颁发学位证书。",
            "教师代表{person}、学生代表{student}分别发言，分享了在国关学习成长的心得。",
            "典礼上，全体新生面向国旗庄严宣誓。",
            "同学们在活动中重温入团誓词，表示要勤学苦练、增长本领。",
            "我院学生在首都高校网球比赛中表现出色，展现了国关学子的良好风貌。",
        ),
        closings=(
            "这是我院学生近年来在该项赛事中取得的最好成绩。",
            "活动在《歌唱祖国》的歌声中圆满结束。",
        ),
        captions=("颁奖现场", "{student}在比赛中", "典礼现场", "毕业生合影留念"),
    ),
    "lecture": Topic(
        titles=(
            "{person}教授做客“{lecture_series}”",
            "“{lecture_series}”第{n}讲：{lecture_topic}",
            "{lecture_series}｜{lecture_topic}",
        ),
        openings=(
            "{m}月{d}日晚，{person}教授做客我院“{lecture_series}”，以“{lecture_topic}”为题作专题讲座。",
            "{m}月{d}日，“{lecture_series}”第{n}讲在{venue}举行，{person}教授以“{lecture_topic}”为题作报告。",
            "{m}月{d}日，{person}教授在{venue}作题为“{lecture_topic}”的讲座。",
        ),
        sentences=(
            "讲座由{unit}主任{person2}主持。",
            "{person}从历史、理论和现实三个维度，深入分析了{topic}面临的主要挑战。",
            "他指出，量子计算、人工智能等前沿技术正在深刻改变国际安全格局。",
            "讲座内容丰富、深入浅出，现场同学踊跃提问。",
            "{person}还结合自身在外交部工作的经历，介绍了国际谈判的基本方法。",
        ),
        closings=(
            "讲座在热烈的掌声中结束。",
            "同学们表示，讲座开阔了视野，加深了对{topic}问题的理解。",
        ),
        captions=("讲座现场", "{person}作讲座", "同学们踊跃提问"),
    ),
    "research": Topic(
        titles=(
            "我院{count3}项课题获{year}年度国家社会科学基金项目立项",
            "我院教师在《{journal}》发表{topic}研究成果",
            "我院教师{person}主持的国家社科基金重点项目顺利结项",
        ),
        openings=(
            "近日，全国哲学社会科学工作办公室公布了{year}年度国家社会科学基金项目立项名单，我院{count3}项课题获批立项。",
            "近日，我院{unit}教师{person}的论文在《{journal}》{year}年第{n}期发表。",
            "近日，我院教师{person}主持的国家社会科学基金重点项目通过鉴定，顺利结项。",
        ),
        sentences=(
            "立项课题涵盖{topic}、{topic2}等研究领域，体现了学院的学科特色。",
            "该论文以区块链技术在跨境治理中的应用为切入点，提出了新的分析框架。",
            "目前，该成果已进入终审阶段，有望于年内正式出版。",
            "近年来，学院不断完善科研管理与激励机制，科研水平持续提升。",
            "该研究对于理解人工智能（AI）对国际秩序的影响具有重要参考价值。",
        ),
        closings=(
            "学院将继续加强有组织科研，推动高水平成果不断涌现。",
            "科研处将做好项目过程管理和服务保障工作。",
        ),
        captions=("{person}在学术会议上发言",),
    ),
    "sports": Topic(
        titles=(
            "我院举办{year}年春季田径运动会",
            "我院学生在首都高校{sport}比赛中取得佳绩",
            "“强体魄 展风采”教职工趣味运动会举行",
        ),
        openings=(
            "{m}月{d}日，国际关系学院{year}年春季田径运动会在学院操场举行。",
            "近日，在首都高校{sport}比赛中，我院代表队取得佳绩。",
            "{m}月{d}日，学院工会组织举办教职工趣味运动会。",
        ),
        sentences=(
            "本届运动会共设{count3}个比赛项目，{count}余名师生报名参赛。",
            "赛场上，运动员们奋勇拼搏、赛出风格、赛出水平。",
            "体育部教师{person}带队参赛，赛前组织了系统训练。",
            "{leader_role}{leader}宣布运动会开幕。",
        ),
        closings=(
            "运动会展现了国关师生积极向上的精神风貌。",
            "赛后，学院为获奖队伍和个人颁发了奖杯和证书。",
        ),
        captions=("比赛现场", "开幕式现场", "颁奖仪式"),
    ),
}

PARTY_THEMES = ("学习贯彻全会精神", "传承红色基因", "牢记初心使命", "党建引领促发展")
STUDENT_THEMES = ("青春心向党 建功新时代", "强国有我 青春担当", "学思想 强担当")
SPORTS = ("网球", "羽毛球", "篮球", "定向越野")


def _hexs(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(n))


def image_path(rng: random.Random) -> str:
    """A VSB upload path: /__local/7/C7/EB/{hex27}_{hex8}_{hex5}.jpg."""
    return f"/__local/7/C7/EB/{_hexs(rng, 27)}_{_hexs(rng, 8)}_{_hexs(rng, 5)}.jpg"


def _pick_names(rng: random.Random, pool: tuple[str, ...], two_chance: float) -> tuple[str, ...]:
    if rng.random() < two_chance:
        return tuple(rng.sample(pool, 2))
    return (rng.choice(pool),)


@dataclass(frozen=True)
class Draft:
    """Everything generated for one article except its ids, template and links."""

    title: str
    blocks: tuple[Block, ...]
    reviewers: dict[str, tuple[str, ...]]
    reviewer_joiners: dict[str, str]
    credits: tuple[Credit, ...]
    attachment_names: tuple[str, ...]
    keywords: tuple[str, ...]


class ContentGenerator:
    """Builds article drafts; every draw comes from the `rng` given."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _slots(self, when: datetime) -> dict[str, str]:
        rng = self.rng
        event = when - timedelta(days=rng.randint(1, 3))
        end = event + timedelta(days=rng.randint(1, (when - event).days))
        univ, country = rng.choice(FOREIGN_UNIVS)
        role, leader = rng.choice(LEADERS)
        topic, topic2 = rng.sample(TOPICS, 2)
        person, person2 = rng.sample(FACULTY, 2)
        unit, unit2 = rng.sample(UNITS, 2)
        competition, award = rng.choice(COMPETITIONS)
        return {
            "m": str(event.month),
            "d": str(event.day),
            "d2": str(end.day) if end.month == event.month else f"{end.month}月{end.day}",
            "year": str(when.year),
            "n": rng.choice(CN_NUM[1:]),
            "count": str(rng.randrange(30, 400, 10)),
            "count2": str(rng.randint(12, 60)),
            "count3": str(rng.randint(3, 12)),
            "person": person,
            "person2": person2,
            "student": rng.choice(STUDENTS),
            "leader": leader,
            "leader_role": role,
            "unit": unit,
            "unit2": unit2,
            "venue": rng.choice(VENUES),
            "foreign_univ": univ,
            "country": country,
            "foreign_guest": rng.choice(FOREIGN_GUESTS),
            "topic": topic,
            "topic2": topic2,
            "competition": competition,
            "award": award,
            "journal": rng.choice(JOURNALS),
            "lecture_series": rng.choice(LECTURE_SERIES),
            "lecture_topic": rng.choice(LECTURE_TOPICS),
            "party_theme": rng.choice(PARTY_THEMES),
            "student_theme": rng.choice(STUDENT_THEMES),
            "sport": rng.choice(SPORTS),
        }

    def draft(self, when: datetime) -> Draft:
        """A complete, self-consistent news item dated `when` (Beijing time)."""
        rng = self.rng
        topic_name = rng.choice(sorted(TOPIC_TABLE))
        topic = TOPIC_TABLE[topic_name]
        slots = self._slots(when)
        # Titles and openings are parallel: the first sentence reports what the title says.
        story = rng.randrange(len(topic.titles))
        title = topic.titles[story].format_map(slots)

        pool = list(topic.sentences) + rng.sample(GENERIC, 4)
        rng.shuffle(pool)
        n_paras = rng.randint(3, 6)
        paras = [topic.openings[story].format_map(slots)]
        if rng.random() < 0.5:
            paras[0] += pool.pop().format_map(slots)
        for _ in range(n_paras - 2):
            k = min(len(pool), rng.randint(2, 3))
            if k == 0:
                break
            paras.append("".join(pool.pop().format_map(slots) for _ in range(k)))
        paras.append(rng.choice(topic.closings).format_map(slots))

        blocks: list[Block] = [Paragraph(p) for p in paras]
        if rng.random() < 0.45:
            for _ in range(rng.randint(1, 3)):
                caption = (
                    None if rng.random() < 0.15 else rng.choice(topic.captions).format_map(slots)
                )
                # Images go after the first paragraph, never before: captions must not open a body.
                at = rng.randint(1, len(blocks))
                blocks.insert(at, Figure(image_path(rng), caption))

        attachments: tuple[str, ...] = ()
        if rng.random() < max(topic.attachment_chance, 0.04):
            n = rng.randint(1, 2)
            attachments = tuple(
                name.format(year=when.year) for name in rng.sample(ATTACHMENT_NAMES, n)
            )

        reviewers, joiners = self._reviewers()
        credits = self._credits()
        keywords = tuple(rng.sample([slots["topic"], slots["topic2"], "国际关系学院", "国关"], 2))
        return Draft(title, tuple(blocks), reviewers, joiners, credits, attachments, keywords)

    def _reviewers(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        rng = self.rng
        reviewers: dict[str, tuple[str, ...]] = {}
        joiners: dict[str, str] = {}
        if rng.random() < 0.06:
            return reviewers, joiners  # some older items name no reviewers at all
        missing = (
            rng.choice(("first_proofreader", "second_proofreader")) if rng.random() < 0.12 else ""
        )
        for role in ("first_proofreader", "second_proofreader", "final_reviewer"):
            if role == missing:
                continue
            pool = STAFF if role != "final_reviewer" else FINAL_REVIEWERS
            reviewers[role] = _pick_names(rng, pool, 0.15 if role != "final_reviewer" else 0.0)
            joiners[role] = rng.choice(("、", "、", " "))
        return reviewers, joiners

    def _credits(self) -> tuple[Credit, ...]:
        rng = self.rng
        credits: list[Credit] = []

        def add(role: str, label: str, names: tuple[str, ...]) -> None:
            credits.append(Credit(role, label, names, rng.choice(("、", "、", " "))))

        style = rng.random()
        if style < 0.25:
            add("author", "文", _pick_names(rng, STAFF + STUDENTS, 0.2))
            if rng.random() < 0.7:
                add("photographer", "图", _pick_names(rng, STAFF + STUDENTS, 0.1))
        elif style < 0.45:
            add("writer", "撰稿", _pick_names(rng, STAFF + STUDENTS, 0.25))
            if rng.random() < 0.6:
                add("photographer", "摄影", _pick_names(rng, STAFF + STUDENTS, 0.1))
        elif style < 0.55:
            add("author", "作者", (rng.choice(STAFF),))
        if rng.random() < 0.2:
            add("contributing_unit", "供稿单位", (rng.choice(SOURCE_UNITS),))
        if rng.random() < 0.15:
            add("source", rng.choice(("来源", "稿件来源")), (rng.choice(SOURCE_UNITS),))
        if rng.random() < 0.3:
            add("editor", "编辑", (rng.choice(STAFF),))
        if rng.random() < 0.1:
            add("responsible_editor", "责任编辑", (rng.choice(STAFF),))
        if rng.random() < 0.08:
            add("auditor", "审核", (rng.choice(STAFF),))
        return tuple(credits)

    def article(
        self,
        *,
        news_id: int,
        when: datetime,
        template: TemplateName,
        column_id: int,
        column_name: str,
        review_labels: tuple[str, str, str],
        file_id: int,
        header_unit: Callable[[], str],
    ) -> tuple[Article, int]:
        """A new article drafted for `when` in `template`, and the next free file id.

        A template that prints a credit role in its header line gets one, from
        `header_unit`, when the draft has none.
        """
        draft = self.draft(when)
        credits = list(draft.credits)
        header_role = HEADER_ROLES.get(template)
        if header_role and not any(c.role == header_role for c in credits):
            label = CREDIT_LABELS[header_role][-1 if header_role == "author" else 0]
            credits.insert(0, Credit(header_role, label, (header_unit(),)))
        presentation = self.presentation(template, draft, header_role == "author")
        attachments = attachments_for(draft.attachment_names, file_id)
        next_file_id = file_id + len(attachments) + self.rng.randint(1, 40)
        article = Article(
            column_id=column_id,
            news_id=news_id,
            title=draft.title,
            published=when,
            blocks=draft.blocks,
            reviewers=draft.reviewers,
            reviewer_joiners=draft.reviewer_joiners,
            credits=tuple(credits),
            attachments=attachments,
            template=template,
            presentation=presentation,
            modified=when + timedelta(minutes=self.rng.randint(5, 240)),
            column_name=column_name,
            review_labels=review_labels,
        )
        return article, next_file_id

    def presentation(self, template: str, draft: Draft, has_author_header: bool) -> Presentation:
        """Cosmetic choices for one page, biased per template as real themes are."""
        rng = self.rng
        layout_by_template = {
            "arc": ("lines", "lines", "one_line"),
            "intro": ("one_line", "lines"),
            "contit": ("outside", "outside", "lines"),
            "titlestyle": ("one_line", "outside"),
            "cndate": ("lines", "one_line"),
            "bracket": ("lines", "outside"),
            "oldtable": ("lines", "one_line", "outside"),
            "oldcell": ("lines", "lines", "one_line"),
        }
        layout = rng.choice(layout_by_template[template])
        return Presentation(
            colon=rng.choice(("：", "：", ":")),
            credit_layout=layout,  # type: ignore[arg-type]
            separator=rng.choice(("　", "　　", "&nbsp;&nbsp;", " ", "&nbsp;&nbsp;&nbsp;&nbsp;")),
            indent=rng.choice(("", "　　", "&nbsp;&nbsp;&nbsp;&nbsp;", ""))
            if template != "bracket"
            else "　　",
            word_pasted=template == "contit" or (template == "cndate" and rng.random() < 0.4),
            right_aligned_credits=rng.random() < 0.4,
            credits_first=(not has_author_header) and rng.random() < 0.3,
            spacer_before_credits=rng.random() < 0.5,
            bracket_editor=rng.random() < 0.6,
            subtitle=rng.choice(("", "", "——" + draft.title[:8] + "侧记"))
            if template == "intro"
            else "",
            keywords=draft.keywords,
        )

    def edit_sentence(self) -> str:
        """A sentence an editor might add when revising a published item."""
        return self.rng.choice(
            (
                "学院将持续跟进相关工作进展，及时发布最新信息。",
                "（本文部分内容已根据会议纪要更正。）",
                "后续活动安排将另行通知。",
                "相关成果将陆续在学院官网发布。",
            )
        )


def attachments_for(names: tuple[str, ...], first_id: int) -> tuple[Attachment, ...]:
    return tuple(Attachment(first_id + i, name) for i, name in enumerate(names))
