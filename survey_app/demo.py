"""``flask seed-demo``: a coherent, deterministic demo story for an empty database.

The story is told in chapters, one per domain, run in the order of ``chapters()``: each takes the
shared ``DemoContext`` (random generator, reference date, what earlier chapters made) and returns
lines for the printed summary. A domain adds its chapter as ``seed_demo(ctx)`` in its own
``demo.py`` and one line in ``chapters()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import click
import numpy as np
import sqlalchemy as sa
from flask import Blueprint, current_app

from survey_app.accounts import services as account_services
from survey_app.accounts.models import Role, User
from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db

cli = Blueprint("demo_cli", __name__, cli_group=None)

DEMO_SEED = 20261123

DEMO_USERS = [
    # email, password, role, name
    ("admin@example.com", "demo-admin-2026", Role.ADMIN, "系统管理员 Admin"),
    ("manager@example.com", "demo-manager-2026", Role.MANAGER, "李经理 Manager Li"),
    ("staff@example.com", "demo-staff-2026", Role.STAFF, "王芳 Wang Fang"),
    ("staff2@example.com", "demo-staff2-2026", Role.STAFF, "张伟 Zhang Wei"),
]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞")
COMPANY_WORDS = [
    "华信",
    "宏达",
    "东方",
    "恒通",
    "金桥",
    "新锐",
    "瑞丰",
    "天成",
    "中联",
    "博远",
    "鼎盛",
    "汇丰",
    "永安",
    "长城",
    "凯达",
    "佳和",
    "昌隆",
    "德润",
    "嘉禾",
    "万通",
    "远航",
    "信诚",
    "安泰",
    "盛世",
]
COMPANY_KINDS = ["贸易有限公司", "科技有限公司", "商贸公司", "制造有限公司", "餐饮管理公司"]
CITIES = [
    "上海",
    "北京",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "武汉",
    "成都",
    "重庆",
    "西安",
    "沈阳",
    "苏州",
]
REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北"]
REGION_WEIGHTS = [0.30, 0.20, 0.18, 0.12, 0.10, 0.05, 0.05]
#: segment, share of customers, median spend per order (CNY), median days between orders
SEGMENTS = [
    ("零售", 0.70, 260.0, 30.0),
    ("中小企业", 0.24, 2400.0, 21.0),
    ("大客户", 0.06, 18000.0, 14.0),
]
#: consumption patterns from the domain notes: rising, stable, declining, irregular
PATTERNS = ["rising", "stable", "declining", "irregular"]
PATTERN_WEIGHTS = [0.2, 0.45, 0.2, 0.15]


#: the demo's service problem: from this many months before the reference month, for this many
#: months, deliveries went wrong. Customers were less satisfied and complained more then, and some
#: stopped buying, which the register records as losses three to five months later: the story the
#: index report's validity panel is there to show.
EPISODE_MONTHS_BACK, EPISODE_MONTHS = 10, 3
#: the share of customers still buying when the problem began who stopped during it
EPISODE_EXTRA_LOSS = 0.1


def episode_of(as_of: date) -> tuple[date, date]:
    """The first and last day of the demo's service problem, for a story ending at ``as_of``."""
    month = as_of.year * 12 + as_of.month - 1 - EPISODE_MONTHS_BACK
    first = date(month // 12, month % 12 + 1, 1)
    month += EPISODE_MONTHS
    return first, date(month // 12, month % 12 + 1, 1) - timedelta(days=1)


@dataclass
class DemoContext:
    rng: np.random.Generator
    as_of: date
    customers: int
    users: dict[str, User] = field(default_factory=dict)
    #: public URLs a customer would use, printed after the summary: (label, path)
    public_urls: list[tuple[str, str]] = field(default_factory=list)
    #: first and last day of the service problem: ``episode_of(as_of)``
    episode: tuple[date, date] = field(init=False)

    def __post_init__(self) -> None:
        self.episode = episode_of(self.as_of)


def seed_users(ctx: DemoContext) -> list[str]:
    for email, password, role, name in DEMO_USERS:
        ctx.users[email] = account_services.create_user(email, password, role, name)
    return ["Demo sign-ins:"] + [
        f"  {role.value:<8} {email:<22} password: {password}"
        for email, password, role, _ in DEMO_USERS
    ]


def _customer_name(rng: np.random.Generator, segment: str, taken: set[str]) -> str:
    """A person's name for retail customers, a company name otherwise; companies never repeat."""
    if segment == "零售":
        given = "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))
        return f"{rng.choice(SURNAMES)}{given}"
    name = ""
    for _attempt in range(20):
        name = f"{rng.choice(CITIES)}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
        if name not in taken:
            break
    else:  # a large demo runs out of combinations: number the branches of the last one
        base, branch = name, 2
        while (name := f"{base}第{branch}分公司") in taken:
            branch += 1
    taken.add(name)
    return name


def _purchase_dates(rng, start: date, end: date, gap: float, pattern: str) -> list[date]:
    """Purchase days in [start, end] with mean gap ``gap`` days, bent by the consumption pattern."""
    days, t, span = [], 0.0, max((end - start).days, 1)
    while True:
        progress = t / span
        scale = {
            "rising": 1.6 - 1.0 * progress,
            "declining": 0.7 + 1.6 * progress,
            "stable": 1.0,
            "irregular": float(rng.choice([0.3, 1.0, 3.0])),
        }[pattern]
        t += float(rng.gamma(2.0, gap * scale / 2.0))
        if t > span:
            return days
        days.append(start + timedelta(days=int(t)))


def seed_customers(ctx: DemoContext) -> list[str]:
    rng, as_of, count = ctx.rng, ctx.as_of, ctx.customers
    horizon_start = as_of - timedelta(days=730)
    staff = [user for user in ctx.users.values() if user.role is Role.STAFF]
    customer_rows, plans = [], []
    company_names: set[str] = set()
    segment_p = [s[1] for s in SEGMENTS]
    episode_start, episode_end = ctx.episode
    episode_days = (episode_end - episode_start).days + 1
    for i in range(count):
        seg_index = int(rng.choice(len(SEGMENTS), p=segment_p))
        segment, _share, spend, gap = SEGMENTS[seg_index]
        # Most customers were already buying before the window; the rest joined during it.
        first_seen = horizon_start - timedelta(days=int(rng.integers(0, 900)))
        if rng.random() < 0.35:
            first_seen = horizon_start + timedelta(days=int(rng.integers(0, 700)))
        lost = rng.random() < 0.22
        end = as_of
        if lost:  # stopped buying somewhere in the window
            end = max(first_seen, horizon_start) + timedelta(days=int(rng.integers(30, 600)))
            end = min(end, as_of - timedelta(days=int(gap * 5)))
        elif first_seen < episode_start and rng.random() < EPISODE_EXTRA_LOSS:
            # put off by the service problem: stopped buying while it lasted
            end = episode_start + timedelta(days=int(rng.integers(0, episode_days)))
        code = f"C{i + 1:05d}"
        customer_rows.append(
            {
                "code": code,
                "name": _customer_name(rng, segment, company_names),
                "email": f"{code.lower()}@example.cn",
                "phone": f"1{int(rng.integers(30, 90))}{int(rng.integers(10**7, 10**8))}",
                "segment": segment,
                "region": str(rng.choice(REGIONS, p=REGION_WEIGHTS)),
                "first_seen_on": first_seen,
                "assigned_staff_id": (
                    staff[i % len(staff)].id if segment == "大客户" and staff else None
                ),
            }
        )
        customer_gap = gap * float(rng.lognormal(0.0, 0.5))
        customer_spend = spend * float(rng.lognormal(0.0, 0.7))
        pattern = str(rng.choice(PATTERNS, p=PATTERN_WEIGHTS))
        plans.append(
            (code, max(first_seen, horizon_start), end, customer_gap, customer_spend, pattern)
        )

    db.session.execute(sa.insert(Customer), customer_rows)
    ids = dict(db.session.execute(sa.select(Customer.code, Customer.id)).all())

    rows, total = [], 0
    for code, start, end, gap, spend, pattern in plans:
        for n, day in enumerate(_purchase_dates(rng, start, end, gap, pattern)):
            amount = round(spend * float(rng.lognormal(0.0, 0.35)), 2)
            margin_rate = float(rng.uniform(0.12, 0.38))
            rows.append(
                {
                    "customer_id": ids[code],
                    "external_id": f"T-{code}-{n + 1:04d}",
                    "occurred_on": day,
                    "amount": Decimal(f"{amount:.2f}"),
                    "margin": Decimal(f"{amount * margin_rate:.2f}"),
                }
            )
        if len(rows) >= 5000:
            db.session.execute(sa.insert(Transaction), rows)
            total += len(rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Transaction), rows)
        total += len(rows)
    return [
        "Demo data:",
        f"  {count} customers, {total} transactions up to {ctx.as_of.isoformat()}",
    ]


def chapters() -> list[Callable[[DemoContext], list[str]]]:
    """The demo story's chapters, in order: later chapters use what earlier ones made."""
    from survey_app.churn.demo import seed_demo as seed_churn
    from survey_app.churn.demo import seed_risk
    from survey_app.complaints.demo import seed_demo as seed_complaints
    from survey_app.index.demo import seed_demo as seed_index
    from survey_app.surveys.demo import seed_demo as seed_surveys
    from survey_app.surveys.demo import seed_followups

    return [
        seed_users,
        seed_customers,
        seed_churn,
        seed_surveys,
        seed_complaints,
        seed_risk,
        seed_index,
        seed_followups,
    ]


def database_is_empty() -> bool:
    return not any(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (User, Customer)
    )


def _refresh_statistics() -> None:
    """On PostgreSQL, ANALYZE inside the seed's own transaction, which counts the rows it has
    written so far. The seed is one transaction; an autovacuum ANALYZE that ran meanwhile
    could not see its rows and recorded the tables as empty, and the planner then joined the
    survey answers by nested loops: each period of the index chapter took 12 s instead of
    0.02 s (measured at the demo's size), several minutes for the chapter. The lock ANALYZE
    takes is held to the commit, so autovacuum skips these tables until then."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))


def seed_demo(as_of: date, customers: int = 2000, seed: int = DEMO_SEED) -> list[str] | None:
    """Fill an empty database with the demo story; return summary lines, or None when the
    database already holds data (nothing is changed then). The caller commits."""
    if not database_is_empty():
        return None
    ctx = DemoContext(rng=np.random.default_rng(seed), as_of=as_of, customers=customers)
    lines = []
    for chapter in chapters():
        lines += chapter(ctx)
        db.session.flush()
        _refresh_statistics()
    ctx.public_urls.insert(0, ("home", "/"))
    lines.append("Public pages a customer uses:")
    lines += [f"  {label:<28} {{base}}{path}" for label, path in ctx.public_urls]
    lines += ["Staff sign-in:", "  {base}/login"]
    return lines


@cli.cli.command("seed-demo")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Reference date of the story (default: today).",
)
@click.option(
    "--customers",
    default=2000,
    show_default=True,
    type=click.IntRange(10, 200_000),
    help="How many customers to invent.",
)
def seed_demo_command(as_of, customers: int) -> None:
    """Fill an EMPTY database with deterministic demo data; does nothing on a non-empty one."""
    reference = as_of.date() if as_of else date.today()
    lines = seed_demo(reference, customers)
    if lines is None:
        click.echo("The database already holds data: nothing was seeded.")
        return
    db.session.commit()
    base = (
        current_app.config.get("PUBLIC_BASE_URL")
        or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    )
    click.echo("\n".join(line.replace("{base}", base) for line in lines))
