"""The questionnaires shipped ready-made: a pulse, a full ECSI/ACSI study, a post-complaint
recovery survey and an exit questionnaire for lost customers.

Each template is plain data (bilingual texts, scales, tags); ``services.create_from_template``
turns it into a draft questionnaire in one step.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: the editable list of dimensions starts with these (code, 中文, English)
DEFAULT_DIMENSIONS = [
    ("product", "产品", "Product"),
    ("staff", "人员", "Staff"),
    ("service", "服务", "Service"),
    ("price", "价格", "Price"),
    ("delivery", "配送", "Delivery"),
    ("after_sales", "售后", "After-sales"),
    ("overall", "总体", "Overall"),
]


def _likert(
    code,
    zh,
    en,
    *,
    lo=1,
    hi=5,
    low=("非常不满意", "Very dissatisfied"),
    high=("非常满意", "Very satisfied"),
    dimension=None,
    construct=None,
    required=True,
    condition=None,
    help_=("", ""),
):
    return {
        "code": code,
        "type": "likert",
        "zh": zh,
        "en": en,
        "scale": (lo, hi),
        "low": low,
        "high": high,
        "dimension": dimension,
        "construct": construct,
        "required": required,
        "condition": condition,
        "help": help_,
    }


def _nps(code="nps", dimension="overall"):
    return {
        "code": code,
        "type": "nps",
        "scale": (0, 10),
        "zh": "您有多大可能向朋友或同事推荐我们？",
        "en": "How likely are you to recommend us to a friend or colleague?",
        "low": ("完全不可能", "Not at all likely"),
        "high": ("极有可能", "Extremely likely"),
        "dimension": dimension,
        "construct": "loyalty",
        "required": True,
    }


def _text(code, zh, en, *, long=True, required=False, condition=None, help_=("", "")):
    return {
        "code": code,
        "type": "long_text" if long else "short_text",
        "zh": zh,
        "en": en,
        "required": required,
        "condition": condition,
        "help": help_,
    }


def _matrix(
    code,
    zh,
    en,
    items,
    *,
    construct,
    lo=1,
    hi=10,
    low=("很差", "Very poor"),
    high=("很好", "Excellent"),
    required=True,
):
    return {
        "code": code,
        "type": "matrix",
        "zh": zh,
        "en": en,
        "scale": (lo, hi),
        "low": low,
        "high": high,
        "construct": construct,
        "required": required,
        "items": [
            {"code": c, "zh": z, "en": e, "dimension": d, "construct": construct}
            for c, z, e, d in items
        ],
    }


PULSE = {
    "title": ("服务满意度快速调查", "Quick satisfaction check"),
    "intro": ("只需一分钟，您的意见帮助我们改进。", "One minute of your time helps us improve."),
    "thanks": ("感谢您的反馈！", "Thank you for your feedback!"),
    "sections": [
        {
            "title": ("您的评价", "Your rating"),
            "questions": [
                _likert(
                    "csat",
                    "总体而言，您对我们最近一次的服务满意吗？",
                    "Overall, how satisfied are you with our most recent service?",
                    dimension="service",
                    construct="satisfaction",
                ),
                _nps(),
            ],
        },
        {
            "title": ("您的意见", "Your comments"),
            "questions": [
                _text(
                    "what_wrong",
                    "哪里让您不满意？",
                    "What went wrong?",
                    condition=("csat", "lte", "3"),
                ),
                _text(
                    "comment",
                    "还有什么想告诉我们的吗？",
                    "Anything else you would like to tell us?",
                ),
            ],
        },
    ],
}

_TEN = {"lo": 1, "hi": 10}
ECSI = {
    "title": ("客户满意度年度调查（ECSI/ACSI）", "Customer satisfaction study (ECSI/ACSI)"),
    "intro": (
        "本调查约需十分钟。请按 1（最低）到 10（最高）打分。",
        "This study takes about ten minutes. Please rate from 1 (lowest) to 10 (highest).",
    ),
    "thanks": ("非常感谢您参与本次调查。", "Thank you very much for taking part."),
    "sections": [
        {
            "title": ("企业形象", "Image"),
            "questions": [
                _matrix(
                    "image",
                    "您对我们公司的印象如何？",
                    "What is your impression of our company?",
                    [
                        ("img_reliable", "值得信赖", "Trustworthy and reliable", "overall"),
                        ("img_innovative", "富有创新", "Innovative and forward-looking", "product"),
                        ("img_society", "对社会负责", "Socially responsible", "overall"),
                    ],
                    construct="image",
                    low=("完全不同意", "Strongly disagree"),
                    high=("完全同意", "Strongly agree"),
                ),
            ],
        },
        {
            "title": ("购买前的期望", "Expectations"),
            "questions": [
                _matrix(
                    "expect",
                    "在成为我们的客户之前，您对以下方面的期望有多高？",
                    "Before you became our customer, how high were your expectations of:",
                    [
                        ("exp_overall", "总体质量", "Overall quality", "overall"),
                        ("exp_needs", "满足您的需求", "Meeting your needs", "product"),
                        ("exp_reliability", "可靠性", "Reliability", "service"),
                    ],
                    construct="expectations",
                    low=("很低", "Very low"),
                    high=("很高", "Very high"),
                ),
            ],
        },
        {
            "title": ("感知质量", "Perceived quality"),
            "questions": [
                _matrix(
                    "quality",
                    "您如何评价以下方面的质量？",
                    "How do you rate the quality of:",
                    [
                        ("q_product", "产品质量", "The products", "product"),
                        (
                            "q_staff",
                            "员工的专业与态度",
                            "Our staff's competence and attitude",
                            "staff",
                        ),
                        ("q_service", "服务流程", "The service process", "service"),
                        (
                            "q_delivery",
                            "配送速度与准确性",
                            "Delivery speed and accuracy",
                            "delivery",
                        ),
                        ("q_aftersales", "售后支持", "After-sales support", "after_sales"),
                    ],
                    construct="quality",
                ),
            ],
        },
        {
            "title": ("感知价值", "Perceived value"),
            "questions": [
                _matrix(
                    "value",
                    "考虑到您支付的价格……",
                    "Considering the price you pay…",
                    [
                        ("v_price_quality", "质量相对价格如何", "Quality given the price", "price"),
                        ("v_quality_price", "价格相对质量如何", "Price given the quality", "price"),
                    ],
                    construct="value",
                ),
            ],
        },
        {
            "title": ("满意度", "Satisfaction"),
            "questions": [
                _likert(
                    "sat_overall",
                    "总体而言，您对我们满意吗？",
                    "Overall, how satisfied are you with us?",
                    **_TEN,
                    dimension="overall",
                    construct="satisfaction",
                ),
                _likert(
                    "sat_expect",
                    "与您的期望相比，我们做得如何？",
                    "How well did we meet your expectations?",
                    **_TEN,
                    low=("远低于期望", "Falls far short"),
                    high=("远超期望", "Far exceeds"),
                    dimension="overall",
                    construct="satisfaction",
                ),
                _likert(
                    "sat_ideal",
                    "与理想的供应商相比，我们离理想有多近？",
                    "How close are we to the ideal supplier?",
                    **_TEN,
                    low=("相差很远", "Very far"),
                    high=("非常接近", "Very close"),
                    dimension="overall",
                    construct="satisfaction",
                ),
            ],
        },
        {
            "title": ("忠诚度", "Loyalty"),
            "questions": [
                _likert(
                    "loy_repurchase",
                    "您再次向我们购买的可能性有多大？",
                    "How likely are you to buy from us again?",
                    **_TEN,
                    low=("非常不可能", "Very unlikely"),
                    high=("非常可能", "Very likely"),
                    dimension="overall",
                    construct="loyalty",
                ),
                _likert(
                    "loy_price",
                    "如果价格上涨 5%，您仍会选择我们吗？",
                    "Would you stay with us if prices rose by 5%?",
                    **_TEN,
                    low=("肯定不会", "Certainly not"),
                    high=("肯定会", "Certainly"),
                    dimension="price",
                    construct="loyalty",
                ),
                _nps(),
                _text(
                    "ecsi_comment",
                    "请告诉我们最需要改进的地方。",
                    "Please tell us what we should improve first.",
                ),
            ],
        },
    ],
}

RECOVERY = {
    "title": ("投诉处理回访", "How did we handle your complaint?"),
    "intro": (
        "您最近向我们反映了问题。请告诉我们处理得怎么样。",
        "You recently told us about a problem. Please tell us how we handled it.",
    ),
    "thanks": ("感谢您的反馈，我们会继续改进。", "Thank you: we will keep improving."),
    "sections": [
        {
            "title": ("处理过程", "The handling"),
            "questions": [
                _likert(
                    "rec_satisfaction",
                    "您对投诉的处理结果满意吗？",
                    "How satisfied are you with how your complaint was resolved?",
                    dimension="after_sales",
                    construct="satisfaction",
                ),
                _likert(
                    "rec_speed",
                    "处理速度如何？",
                    "How quick was the handling?",
                    low=("很慢", "Very slow"),
                    high=("很快", "Very fast"),
                    dimension="after_sales",
                    construct="quality",
                ),
                _likert(
                    "rec_staff",
                    "处理人员的态度如何？",
                    "How was the attitude of our staff?",
                    low=("很差", "Very poor"),
                    high=("很好", "Excellent"),
                    dimension="staff",
                    construct="quality",
                ),
                {
                    "code": "rec_resolved",
                    "type": "single",
                    "required": True,
                    "zh": "问题是否已经解决？",
                    "en": "Has the problem been solved?",
                    "options": [
                        ("yes", "已完全解决", "Yes, completely"),
                        ("partly", "部分解决", "Partly"),
                        ("no", "没有解决", "No"),
                    ],
                },
                _nps("rec_nps", dimension="after_sales"),
            ],
        },
        {
            "title": ("您的建议", "Your suggestions"),
            "questions": [
                _text(
                    "rec_improve", "我们还可以做得更好的是什么？", "What could we have done better?"
                ),
            ],
        },
    ],
}

EXIT = {
    "title": ("我们想念您", "We miss you"),
    "intro": (
        "我们注意到您最近没有再光顾。能告诉我们原因吗？",
        "We noticed you have not bought from us lately. Could you tell us why?",
    ),
    "thanks": ("谢谢您坦诚的回答。", "Thank you for your honest answer."),
    "sections": [
        {
            "title": ("原因", "Reasons"),
            "questions": [
                {
                    "code": "exit_reasons",
                    "type": "multiple",
                    "required": True,
                    "zh": "您减少或停止购买的原因是什么？（可多选）",
                    "en": "Why did you buy less or stop buying? (choose all that apply)",
                    "options": [
                        ("price", "价格太高", "Prices too high"),
                        ("quality", "产品质量问题", "Product quality"),
                        ("service", "服务不好", "Poor service"),
                        ("competitor", "选择了其他供应商", "Switched to another supplier"),
                        ("need", "不再需要", "No longer needed"),
                        ("other", "其他", "Other"),
                    ],
                },
                _likert(
                    "exit_satisfaction",
                    "离开前，您对我们总体满意吗？",
                    "Before leaving, how satisfied were you with us overall?",
                    dimension="overall",
                    construct="satisfaction",
                ),
                _likert(
                    "exit_return",
                    "如果条件合适，您愿意再次选择我们吗？",
                    "Would you come back if the offer were right?",
                    low=("绝不会", "Never"),
                    high=("非常愿意", "Gladly"),
                    dimension="overall",
                    construct="loyalty",
                ),
                _text("exit_win_back", "怎样才能让您回来？", "What would make you come back?"),
            ],
        },
    ],
}

TEMPLATES = {"pulse": PULSE, "ecsi": ECSI, "recovery": RECOVERY, "exit": EXIT}

TEMPLATE_LABELS = {
    "pulse": (_l("Pulse"), _l("CSAT, NPS and a comment: one minute, after each interaction.")),
    "ecsi": (
        _l("Full ECSI/ACSI study"),
        _l("Image, expectations, quality, value, satisfaction and loyalty on 1-10 scales."),
    ),
    "recovery": (
        _l("Complaint recovery"),
        _l("How a complaint was handled, and whether the customer would still recommend us."),
    ),
    "exit": (
        _l("Exit questionnaire"),
        _l("Why a lost customer left, and what would bring them back."),
    ),
}
