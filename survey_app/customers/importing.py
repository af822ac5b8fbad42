"""Importing customers, transactions and contracts from CSV or XLSX files.

Three steps, the same from the web and the shell: read the file (``read_table``), validate every
row under a column mapping (``validate``: nothing is written, every bad row is listed with its
reason) and, only when no row is bad, write all rows in one transaction (``apply``). Rows match
existing ones on their external id (customer ``code``, transaction/contract ``external_id``), so
importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

from survey_app.accounts.models import User
from survey_app.errors import DomainError
from survey_app.extensions import db
from survey_app.taxonomy.models import Reason

from .models import Contract, Customer, Transaction

KINDS = ("customers", "transactions", "contracts")
MAX_ROWS = 500_000


@dataclass(frozen=True)
class Column:
    name: str
    label: object
    required: bool
    #: other header names that map to this column automatically
    aliases: tuple[str, ...] = ()


COLUMNS: dict[str, list[Column]] = {
    "customers": [
        Column("code", _l("Customer code"), True, ("customer_code", "id", "编号", "客户编号")),
        Column("name", _l("Name"), True, ("customer_name", "名称", "客户名称", "姓名")),
        Column("email", _l("E-mail"), False, ("mail", "邮箱")),
        Column("phone", _l("Phone"), False, ("mobile", "tel", "电话", "手机")),
        Column("segment", _l("Segment"), False, ("细分", "客户类型")),
        Column("region", _l("Region"), False, ("area", "地区", "区域")),
        Column("first_seen_on", _l("First seen"), False, ("first_seen", "since", "首次")),
        Column("assigned_staff", _l("Account manager e-mail"), False, ("staff", "客户经理")),
    ],
    "transactions": [
        Column("external_id", _l("Transaction id"), True, ("id", "transaction_id", "单号")),
        Column("customer_code", _l("Customer code"), True, ("code", "customer", "客户编号")),
        Column("occurred_on", _l("Date"), True, ("date", "日期")),
        Column("amount", _l("Amount"), True, ("revenue", "金额")),
        Column("margin", _l("Margin"), True, ("gross_margin", "毛利")),
    ],
    "contracts": [
        Column("external_id", _l("Contract id"), True, ("id", "contract_id", "合同编号")),
        Column("customer_code", _l("Customer code"), True, ("code", "customer", "客户编号")),
        Column("started_on", _l("Start"), True, ("start", "start_date", "开始日期")),
        Column("ends_on", _l("End"), False, ("end", "end_date", "结束日期")),
        Column("cancelled_on", _l("Cancelled on"), False, ("cancelled", "取消日期")),
        Column("cancel_reason", _l("Cancellation reason code"), False, ("reason", "取消原因")),
    ],
}


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class Validation:
    records: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: the churn recomputation queued because transactions or contracts changed
    recompute_job_id: int | None = None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: Path | str, filename: str | None = None) -> Table:
    """The header and rows of a CSV (UTF-8, with or without BOM; GBK tolerated) or XLSX file."""
    path = Path(path)
    name = (filename or path.name).lower()
    try:
        if name.endswith(".xlsx"):
            workbook = load_workbook(path, read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            workbook.close()
        elif name.endswith(".csv"):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
            rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
        else:
            raise DomainError(_l("Upload a .csv or .xlsx file."), field="file")
    except DomainError:
        raise
    except Exception:  # a corrupt workbook raises many kinds of errors
        raise DomainError(_l("The file could not be read as CSV or XLSX."), field="file") from None
    rows = [row for row in rows if any(cell for cell in row)]
    if not rows:
        raise DomainError(_l("The file is empty."), field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise DomainError(_l("The file has too many rows (at most 500,000)."), field="file")
    headers = [h or f"column {i + 1}" for i, h in enumerate(rows[0])]
    return Table(headers=headers, rows=rows[1:])


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """Field name -> header, for headers that match a field's name, label or an alias."""
    normal = {h.strip().lower().replace(" ", "_"): h for h in headers}
    mapping = {}
    for column in COLUMNS[kind]:
        for candidate in (column.name, *column.aliases, str(column.label)):
            key = candidate.strip().lower().replace(" ", "_")
            if key in normal:
                mapping[column.name] = normal[key]
                break
    return mapping


def _parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _parse_money(text: str) -> Decimal:
    value = Decimal(text.replace(",", "").replace("¥", "").replace("￥", ""))
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise InvalidOperation(text)
    return value.quantize(Decimal("0.01"))


def validate(
    kind: str,
    table: Table,
    mapping: dict[str, str],
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Validation:
    """Check every row; return clean records and a list of (line, reason) for the bad ones.

    Line numbers count the header as line 1, as a spreadsheet shows them."""
    if kind not in KINDS:
        raise DomainError(_l("Unknown kind of import."))
    columns = COLUMNS[kind]
    missing = [str(c.label) for c in columns if c.required and not mapping.get(c.name)]
    if missing:
        raise DomainError(
            _l("Choose a column for: %(fields)s.", fields=", ".join(missing)), field="mapping"
        )
    index = {
        name: table.headers.index(header)
        for name, header in mapping.items()
        if header and header in table.headers
    }
    lookups = _lookups(kind)
    result, seen = Validation(), {}
    rows = enumerate(table.rows, start=2)
    for line, row in progress(rows) if progress else rows:
        values = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        problems: list[str] = []
        record = _check(kind, values, lookups, problems)
        key = record.get("code") or record.get("external_id")
        if key:
            if key in seen:
                problems.append(str(_l("duplicate of line %(line)d", line=seen[key])))
            else:
                seen[key] = line
        if problems:
            result.errors.append(RowError(line, "; ".join(problems)))
        else:
            result.records.append(record)
    return result


def _lookups(kind: str) -> dict:
    if kind == "customers":
        return {"staff": dict(db.session.execute(sa.select(User.email, User.id)).all())}
    lookups = {"customers": dict(db.session.execute(sa.select(Customer.code, Customer.id)).all())}
    if kind == "contracts":
        lookups["reasons"] = dict(db.session.execute(sa.select(Reason.code, Reason.id)).all())
    return lookups


def _required(values, name, label, problems) -> str:
    text = values.get(name, "")
    if not text:
        problems.append(str(_l("%(field)s is missing", field=label)))
    return text


def _date(values, name, label, problems, required=False) -> date | None:
    text = values.get(name, "")
    if not text:
        if required:
            problems.append(str(_l("%(field)s is missing", field=label)))
        return None
    try:
        return _parse_date(text)
    except ValueError:
        problems.append(
            str(_l("%(field)s '%(value)s' is not a date (YYYY-MM-DD)", field=label, value=text))
        )
        return None


def _money(values, name, label, problems) -> Decimal | None:
    text = _required(values, name, label, problems)
    if not text:
        return None
    try:
        return _parse_money(text)
    except (InvalidOperation, ValueError):
        problems.append(str(_l("%(field)s '%(value)s' is not a number", field=label, value=text)))
        return None


def _too_long(value: str, limit: int, label, problems) -> str:
    if len(value) > limit:
        problems.append(str(_l("%(field)s is longer than %(n)d characters", field=label, n=limit)))
    return value


def _check(kind: str, values: dict, lookups: dict, problems: list[str]) -> dict:
    if kind == "customers":
        code = _too_long(
            _required(values, "code", _l("Customer code"), problems), 64, "code", problems
        )
        name = _too_long(_required(values, "name", _l("Name"), problems), 200, "name", problems)
        email = values.get("email", "").lower()
        if email and ("@" not in email or len(email) > 254):
            problems.append(str(_l("e-mail '%(value)s' is not valid", value=email)))
        staff_email = values.get("assigned_staff", "").lower()
        staff_id = None
        if staff_email:
            staff_id = lookups["staff"].get(staff_email)
            if staff_id is None:
                problems.append(str(_l("no staff user with e-mail %(value)s", value=staff_email)))
        return {
            "code": code,
            "name": name,
            "email": email or None,
            "phone": _too_long(values.get("phone", ""), 40, _l("Phone"), problems) or None,
            "segment": _too_long(values.get("segment", ""), 60, _l("Segment"), problems),
            "region": _too_long(values.get("region", ""), 60, _l("Region"), problems),
            "first_seen_on": _date(values, "first_seen_on", _l("First seen"), problems),
            "assigned_staff_id": staff_id,
        }
    external_id = _too_long(
        _required(values, "external_id", _l("Id"), problems), 64, _l("Id"), problems
    )
    code = _required(values, "customer_code", _l("Customer code"), problems)
    customer_id = lookups["customers"].get(code) if code else None
    if code and customer_id is None:
        problems.append(str(_l("no customer with code %(value)s", value=code)))
    if kind == "transactions":
        amount = _money(values, "amount", _l("Amount"), problems)
        margin = _money(values, "margin", _l("Margin"), problems)
        if amount is not None and margin is not None and margin > amount and amount >= 0:
            problems.append(str(_l("margin is larger than the amount")))
        return {
            "external_id": external_id,
            "customer_id": customer_id,
            "occurred_on": _date(values, "occurred_on", _l("Date"), problems, required=True),
            "amount": amount,
            "margin": margin,
        }
    started = _date(values, "started_on", _l("Start"), problems, required=True)
    ends = _date(values, "ends_on", _l("End"), problems)
    cancelled = _date(values, "cancelled_on", _l("Cancelled on"), problems)
    if started and ends and ends < started:
        problems.append(str(_l("the end is before the start")))
    if started and cancelled and cancelled < started:
        problems.append(str(_l("the cancellation is before the start")))
    reason_code = values.get("cancel_reason", "").lower()
    reason_id = None
    if reason_code:
        reason_id = lookups["reasons"].get(reason_code)
        if reason_id is None:
            problems.append(str(_l("unknown reason code %(value)s", value=reason_code)))
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "started_on": started,
        "ends_on": ends,
        "cancelled_on": cancelled,
        "cancel_reason_id": reason_id,
    }


MODELS = {
    "customers": (Customer, "code"),
    "transactions": (Transaction, "external_id"),
    "contracts": (Contract, "external_id"),
}


def apply(kind: str, records: list[dict], chunk: int = 2000, progress=None) -> ImportResult:
    """Insert new rows and update changed ones, matching on the external id. The caller commits
    (or rolls back): the whole file goes in as one transaction."""
    model, key = MODELS[kind]
    key_column = getattr(model, key)
    fields = [name for name in records[0] if name != key] if records else []
    result = ImportResult()
    chunks = range(0, len(records), chunk)
    for start in progress(chunks) if progress else chunks:
        batch = records[start : start + chunk]
        keys = [r[key] for r in batch]
        existing = {
            row[0]: row
            for row in db.session.execute(
                sa.select(key_column, model.id, *[getattr(model, f) for f in fields]).where(
                    key_column.in_(keys)
                )
            )
        }
        inserts, updates = [], []
        for record in batch:
            row = existing.get(record[key])
            if row is None:
                inserts.append(record)
            elif any(_differs(row[i + 2], record[f]) for i, f in enumerate(fields)):
                updates.append({"id": row[1], **{f: record[f] for f in fields}})
            else:
                result.unchanged += 1
        if inserts:
            db.session.execute(model.__table__.insert(), inserts)
        if updates:
            db.session.execute(sa.update(model), updates)
        result.created += len(inserts)
        result.updated += len(updates)
    db.session.flush()
    return result


def _differs(stored, new) -> bool:
    if isinstance(stored, Decimal) and new is not None:
        return stored != Decimal(new)
    return (stored or None) != (new or None) if isinstance(new, str | type(None)) else stored != new
