"""Importing customers, transactions and contracts: web flow, shell commands, all-or-nothing,
idempotent by external id."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import Workbook

from survey_app.churn.models import CustomerStatus
from survey_app.customers.models import Contract, Customer, Transaction
from survey_app.extensions import db
from tests.conftest import post_form, sign_in

EN = {"Accept-Language": "en"}
GOOD_CUSTOMERS = "code,name,segment,region,first_seen_on,email\nA1,甲公司,大客户,华东,2025-01-02,a1@example.cn\nA2,乙商店,零售,华南,,\n"
BAD_CUSTOMERS = (
    "code,name,segment,first_seen_on,email\n"
    "B1,好客户,零售,2025-01-01,\n"
    ",无编号,零售,,\n"
    "B3,日期错,零售,2025-13-45,\n"
    "B1,重复,零售,,\n"
    "B5,邮箱错,零售,,not-an-email\n"
)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _snapshot(app):
    with app.app_context():
        return [
            tuple(r)
            for r in db.session.execute(
                sa.select(
                    Customer.code, Customer.name, Customer.segment, Customer.first_seen_on
                ).order_by(Customer.code)
            )
        ]


def _upload(client, kind, filename, data: bytes):
    response = post_form(
        client,
        "/customers/import",
        {"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def _mapping(client, review_url):
    """The mapping the review page preselects, as form data."""
    page = client.get(review_url, headers=EN).get_data(as_text=True)
    data = {}
    for name, body in re.findall(r'<select[^>]*name="(map_\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)" selected', body
        )
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_bad_rows_are_listed_and_nothing_is_imported(app, login):
    client = login("staff")
    review = _upload(client, "customers", "bad.csv", BAD_CUSTOMERS.encode())
    mapping = _mapping(client, review)
    assert mapping["map_code"] == "code" and mapping["map_first_seen_on"] == "first_seen_on"
    body = post_form(client, review, {**mapping, "action": "check"}, headers=EN).get_data(
        as_text=True
    )
    assert "4 bad rows" in body
    assert re.search(r"<td class=\"num\">3</td><td>Customer code is missing", body)
    assert "&#39;2025-13-45&#39; is not a date" in body or "'2025-13-45' is not a date" in body
    assert "duplicate of line 2" in body and "not-an-email" in body
    response = post_form(client, review, {**mapping, "action": "import"}, headers=EN)
    assert response.status_code == 200
    assert "nothing was imported" in response.get_data(as_text=True)
    assert _count(app, Customer) == 0
    problems = client.get(f"{review}/problems.csv", headers=EN).get_data(as_text=True)
    lines = [row.split(",", 1)[0] for row in problems.lstrip("\ufeff").splitlines()[1:]]
    assert lines == ["3", "4", "5", "6"]


def test_a_good_file_imports_once_and_again_changes_nothing(app, login):
    client = login("staff")
    review = _upload(client, "customers", "good.csv", GOOD_CUSTOMERS.encode("utf-8-sig"))
    mapping = _mapping(client, review)
    checked = post_form(client, review, {**mapping, "action": "check"}, headers=EN)
    assert "All 2 rows are valid" in checked.get_data(as_text=True)
    assert _count(app, Customer) == 0  # the dry run wrote nothing
    done = post_form(client, review, {**mapping, "action": "import"}, headers=EN)
    assert done.status_code == 302
    assert "2 new, 0 updated, 0 unchanged" in client.get("/customers/", headers=EN).get_data(
        as_text=True
    )
    first = _snapshot(app)
    assert first == [
        ("A1", "甲公司", "大客户", date(2025, 1, 2)),
        ("A2", "乙商店", "零售", None),
    ]
    # the upload is gone after a successful import
    assert client.get(review).status_code == 404
    again = _upload(client, "customers", "good.csv", GOOD_CUSTOMERS.encode())
    post_form(client, again, {**_mapping(client, again), "action": "import"}, headers=EN)
    assert "0 new, 0 updated, 2 unchanged" in client.get("/customers/", headers=EN).get_data(
        as_text=True
    )
    assert _snapshot(app) == first


def test_changed_rows_update_by_code(app, login):
    client = login("admin")
    review = _upload(client, "customers", "a.csv", GOOD_CUSTOMERS.encode())
    post_form(client, review, {**_mapping(client, review), "action": "import"})
    changed = GOOD_CUSTOMERS.replace("乙商店", "乙商店（新）")
    review = _upload(client, "customers", "b.csv", changed.encode())
    post_form(client, review, {**_mapping(client, review), "action": "import"}, headers=EN)
    assert "0 new, 1 updated, 1 unchanged" in client.get("/customers/", headers=EN).get_data(
        as_text=True
    )
    assert ("A2", "乙商店（新）", "零售", None) in _snapshot(app)


def test_xlsx_with_own_headers_and_a_chosen_mapping(app, login):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["客户号", "客户名", "开户日"])
    sheet.append(["X1", "丙公司", date(2024, 5, 6)])
    sheet.append([12345, "数字编号", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = login("staff")
    review = _upload(client, "customers", "list.xlsx", buffer.getvalue())
    assert "丙公司" in client.get(review).get_data(as_text=True)  # the preview
    missing = post_form(client, review, {"action": "check"}, headers=EN).get_data(as_text=True)
    assert "Choose a column for: Customer code, Name" in missing
    mapping = {"map_code": "客户号", "map_name": "客户名", "map_first_seen_on": "开户日"}
    response = post_form(client, review, {**mapping, "action": "import"})
    assert response.status_code == 302
    assert _snapshot(app) == [
        ("12345", "数字编号", "", None),
        ("X1", "丙公司", "", date(2024, 5, 6)),
    ]


def test_transactions_refer_to_known_customers_and_queue_a_recompute(app, login, runner):
    client = login("staff")
    review = _upload(client, "customers", "c.csv", GOOD_CUSTOMERS.encode())
    post_form(client, review, {**_mapping(client, review), "action": "import"})
    bad = "external_id,customer_code,date,amount,margin\nT1,A1,2026-01-05,100,20\nT2,ZZ,2026-01-06,50,x\n"
    review = _upload(client, "transactions", "t.csv", bad.encode())
    body = post_form(
        client, review, {**_mapping(client, review), "action": "check"}, headers=EN
    ).get_data(as_text=True)
    assert "no customer with code ZZ" in body and "Margin &#39;x&#39; is not a number" in body
    assert _count(app, Transaction) == 0
    good = 'external_id,customer_code,date,amount,margin\nT1,A1,2026-01-05,"1,000.50",200\nT2,A2,2026/01/06,50,10\n'
    review = _upload(client, "transactions", "t.csv", good.encode())
    response = post_form(
        client,
        review,
        {**_mapping(client, review), "action": "import"},
        headers=EN,
        follow_redirects=True,
    )
    assert "will be recomputed in the background" in response.get_data(as_text=True)
    with app.app_context():
        amounts = db.session.scalars(
            sa.select(Transaction.amount).order_by(Transaction.external_id)
        )
        assert list(amounts) == [Decimal("1000.50"), Decimal("50.00")]
    assert _count(app, CustomerStatus) == 0  # the import only queued the recompute
    # importing the same file again changes nothing and queues nothing more
    review = _upload(client, "transactions", "t.csv", good.encode())
    post_form(client, review, {**_mapping(client, review), "action": "import"})
    result = runner.invoke(args=["jobs", "work"])
    assert result.exit_code == 0 and "1 job(s) run" in result.output
    assert _count(app, CustomerStatus) == 2  # the worker recomputed the statuses


def test_contracts_import_with_a_reason_code(app, login, runner):
    client = login("staff")
    review = _upload(client, "customers", "c.csv", GOOD_CUSTOMERS.encode())
    post_form(client, review, {**_mapping(client, review), "action": "import"})
    data = (
        "contract_id,customer_code,start,end,cancelled,reason\n"
        "K1,A1,2025-01-01,2025-12-31,2025-08-01,price\n"
        "K2,A2,2025-02-01,2025-01-01,,nonsense\n"
    )
    review = _upload(client, "contracts", "k.csv", data.encode())
    body = post_form(
        client, review, {**_mapping(client, review), "action": "check"}, headers=EN
    ).get_data(as_text=True)
    assert "the end is before the start" in body and "unknown reason code nonsense" in body
    fixed = data.replace("2025-02-01,2025-01-01,,nonsense", "2025-02-01,,,")
    review = _upload(client, "contracts", "k.csv", fixed.encode())
    assert (
        post_form(client, review, {**_mapping(client, review), "action": "import"}).status_code
        == 302
    )
    with app.app_context():
        k1 = db.session.scalar(sa.select(Contract).where(Contract.external_id == "K1"))
        assert k1.cancel_reason.code == "price" and k1.effective_end == date(2025, 8, 1)
        customer_id = k1.customer_id
    assert runner.invoke(args=["jobs", "work"]).exit_code == 0  # the queued recompute
    page = client.get(f"/customers/{customer_id}", headers=EN).get_data(as_text=True)
    assert "Contracts" in page and "Aug 1, 2025" in page and "Price" in page
    assert "Lost on" in page  # cancelled, never renewed: lost on the contract basis


def test_upload_refuses_other_files_and_strangers(app, login, make_user):
    staff = login("staff")
    response = post_form(
        staff,
        "/customers/import",
        {"kind": "customers", "file": (io.BytesIO(b"MZ\x90"), "virus.exe")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 200 and "Upload a .csv or .xlsx file" in response.get_data(
        as_text=True
    )
    response = post_form(
        staff,
        "/customers/import",
        {"kind": "customers", "file": (io.BytesIO(b"\x00\x01garbage"), "broken.xlsx")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert "could not be read" in response.get_data(as_text=True)
    review = _upload(staff, "customers", "good.csv", GOOD_CUSTOMERS.encode())
    _id, email = make_user("staff")
    other = app.test_client()
    assert sign_in(other, email).status_code == 302
    assert other.get(review).status_code == 404  # another staff member's upload


def test_discard_removes_the_upload(login):
    client = login("staff")
    review = _upload(client, "customers", "good.csv", GOOD_CUSTOMERS.encode())
    response = post_form(client, f"{review}/discard", {}, form_url=review)
    assert response.status_code == 302
    assert client.get(review).status_code == 404


def test_shell_import_lists_bad_rows_and_writes_nothing(app, runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CUSTOMERS, encoding="utf-8")
    result = runner.invoke(args=["import-customers", str(bad)])
    assert result.exit_code != 0
    assert "line 3: Customer code is missing" in result.output
    assert "4 bad rows: nothing was imported" in result.output
    assert _count(app, Customer) == 0


def test_shell_import_is_idempotent_with_a_progress_bar(app, runner, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CUSTOMERS, encoding="utf-8")
    dry = runner.invoke(args=["import-customers", "--dry-run", str(good)])
    assert dry.exit_code == 0 and "all 2 rows are valid" in dry.output
    assert _count(app, Customer) == 0
    first = runner.invoke(args=["import-customers", str(good)])
    assert first.exit_code == 0, first.output
    assert "checking rows" in first.output and "2 created, 0 updated, 0 unchanged" in first.output
    tx = tmp_path / "t.csv"
    tx.write_text("external_id,customer_code,date,amount,margin\nT9,A1,2026-02-01,80,16\n")
    assert "1 created" in runner.invoke(args=["import-transactions", str(tx)]).output
    again = runner.invoke(args=["import-transactions", str(tx)])
    assert "0 created, 0 updated, 1 unchanged" in again.output
    assert _count(app, Transaction) == 1


def test_uploads_have_a_size_limit(app, login):
    client = login("staff")
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 50 * 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = post_form(
            client,
            "/customers/import",
            {"kind": "customers", "file": (io.BytesIO(b"code,name\n" + b"X,y\n" * 500), "big.csv")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
