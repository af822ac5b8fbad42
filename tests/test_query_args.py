"""Query arguments typed into the address bar: odd digits ("²", "١٢"), numbers too large for any
database column, pages far past the end. Each list answers 200 and ignores what it cannot use."""

from __future__ import annotations

import pytest

ODD = ["²", "١٢", "99999999999999999999", "-1", "1e3", " 7 "]
PAGES = [
    "/complaints/?category={v}&assignee={v}&customer={v}&before={v}",
    "/complaints/analysis?category={v}",
    "/churn/?reason={v}&page={v}",
    "/churn/losses.csv?reason={v}",
    "/churn/at-risk?page={v}",
    "/customers/?page={v}",
    "/surveys/followups?page={v}&questionnaire={v}&days={v}",
    "/complaints/export.csv?category={v}&before={v}",
]


@pytest.mark.parametrize("value", ODD)
@pytest.mark.parametrize("page", PAGES)
def test_lists_take_odd_numbers_without_failing(login, page, value):
    client = login("manager")
    response = client.get(page.format(v=value))
    assert response.status_code == 200, (page, value, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/complaints/99999999999999999999",
        "/churn/losses/99999999999999999999",
        "/customers/99999999999999999999",
        "/surveys/responses/99999999999999999999",
        "/surveys/99999999999999999999/results",
    ],
)
def test_an_id_too_large_for_any_row_is_not_found(login, path):
    assert login("manager").get(path).status_code == 404
