"""Who is lost, as of a date: thresholds, spells and statuses on hand-made histories."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from survey_app.analytics.churn import (
    LossDefinition,
    contract_spells,
    evaluate,
    rhythm_spells,
    rhythm_thresholds,
)

RULE = LossDefinition(
    rhythm_multiplier=3,
    floor_days=20,
    default_days=100,
    at_risk_share=0.5,
    renewal_grace_days=10,
    renewal_warning_days=30,
    won_back_days=60,
)


def purchases(rows):
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "occurred_on": pd.to_datetime([r[1] for r in rows]),
            "amount": 1.0,
        }
    )


def contracts(rows):
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "started_on": pd.to_datetime([r[1] for r in rows]),
            "effective_end": pd.to_datetime([r[2] for r in rows]),
        }
    )


NO_CONTRACTS = contracts([])

# customer 1 buys every 10 days (median gap 10 -> threshold max(20, 30) = 30)
# customer 2 buys every 5 days (threshold max(20, 15) = 20: the floor)
# customer 3 bought twice only (one gap): default 100
HISTORY = purchases(
    [(1, f"2026-01-{d:02d}") for d in (1, 11, 21, 31)]
    + [(2, f"2026-01-{d:02d}") for d in (1, 6, 11, 16)]
    + [(3, "2026-01-01"), (3, "2026-01-05")]
)


def test_thresholds_come_from_the_median_gap_with_a_floor_and_a_default():
    assert rhythm_thresholds(HISTORY, RULE).to_dict() == {1: 30, 2: 20, 3: 100}


def test_repeated_purchases_on_one_day_count_once():
    doubled = pd.concat([HISTORY, HISTORY[HISTORY["customer_id"] == 1]])
    assert rhythm_thresholds(doubled, RULE)[1] == 30


def test_spells_open_when_the_threshold_passes_and_close_on_return():
    history = purchases(
        [(1, "2026-01-01"), (1, "2026-01-11"), (1, "2026-01-21"), (1, "2026-04-01")]
    )
    thresholds = pd.Series({1: 30})
    spells = rhythm_spells(history, thresholds, date(2026, 6, 1))
    # gap 21 Jan -> 1 Apr (70 days > 30): lost from 20 Feb, back 1 Apr; then lost from 1 May
    assert spells["lost_on"].dt.date.tolist() == [date(2026, 2, 20), date(2026, 5, 1)]
    assert spells["returned_on"].iloc[0].date() == date(2026, 4, 1)
    assert pd.isna(spells["returned_on"].iloc[1])
    # as of 30 April the last spell has not started yet; as of 1 May it has (day T counts)
    assert len(rhythm_spells(history, thresholds, date(2026, 4, 30))) == 1
    assert len(rhythm_spells(history, thresholds, date(2026, 5, 1))) == 2
    # evaluated as of a date before the return, the first spell is still open
    early = rhythm_spells(history, thresholds, date(2026, 3, 1))
    assert len(early) == 1 and pd.isna(early["returned_on"].iloc[0])


def test_contract_spells_honour_renewals_and_grace():
    data = contracts(
        [
            (7, "2025-01-01", "2025-06-30"),
            (7, "2025-07-05", "2025-12-31"),  # renewal within 10 days: no spell
            (7, "2026-03-01", None),  # back after a gap: spell 31 Dec -> 1 Mar
            (8, "2025-01-01", "2026-01-31"),  # ended, never renewed
            (9, "2025-01-01", "2026-05-25"),  # ends in 5 days from as_of + grace: not lost yet
        ]
    )
    spells = contract_spells(data, 10, date(2026, 5, 30))
    got = {
        (r.customer_id, r.lost_on.date(), None if pd.isna(r.returned_on) else r.returned_on.date())
        for r in spells.itertuples()
    }
    assert got == {(7, date(2025, 12, 31), date(2026, 3, 1)), (8, date(2026, 1, 31), None)}


def test_overlapping_contracts_cover_the_customer():
    data = contracts([(1, "2025-01-01", "2025-12-31"), (1, "2025-03-01", "2025-05-01")])
    spells = contract_spells(data, 0, date(2026, 6, 1))
    assert spells["lost_on"].dt.date.tolist() == [date(2025, 12, 31)]


def test_statuses_as_of_a_date():
    history = purchases(
        [(1, f"2026-01-{d:02d}") for d in (1, 11, 21, 31)]  # T=30; as of 20 Feb: 20 days: at risk
        + [(2, "2026-01-01"), (2, "2026-01-11"), (2, "2026-01-21"), (2, "2026-02-15")]  # active
        + [(3, "2025-10-01"), (3, "2025-10-11"), (3, "2025-10-21")]  # lost since 20 Nov
        + [(4, "2025-10-01"), (4, "2025-10-11"), (4, "2025-10-21"), (4, "2026-02-10")]  # won back
        + [(5, "2026-02-19")]  # a contractual customer's purchase does not decide
    )
    deals = contracts([(5, "2025-01-01", "2026-03-10")])  # ends within 30 days: at risk
    statuses, spells = evaluate(history, deals, RULE, date(2026, 2, 20))
    assert statuses["status"].to_dict() == {
        1: "at_risk",
        2: "active",
        3: "lost",
        4: "won_back",
        5: "at_risk",
    }
    assert statuses.loc[3, "lost_on"].date() == date(2025, 11, 20)
    assert statuses.loc[4, "returned_on"].date() == date(2026, 2, 10)
    assert statuses.loc[5, "basis"] == "contract"
    # purchases after as_of are ignored: the same data as of 31 Dec 2025 sees customer 4 lost
    earlier, _ = evaluate(history, deals, RULE, date(2025, 12, 31))
    assert earlier.loc[4, "status"] == "lost" and 1 not in earlier.index
    # T=30 days after 10 Feb the won-back customer is lost again
    later, _ = evaluate(history, deals, RULE, date(2026, 4, 5))
    assert later.loc[4, "status"] == "lost" and later.loc[4, "lost_on"].date() == date(2026, 3, 12)
    assert len(spells[spells["customer_id"] == 4]) == 1


@pytest.mark.parametrize(("days", "status"), [(14, "active"), (15, "at_risk"), (30, "lost")])
def test_at_risk_boundary(days, status):
    history = purchases([(1, f"2026-01-{d:02d}") for d in (1, 11, 21)])
    as_of = pd.Timestamp("2026-01-21") + pd.Timedelta(days=days)
    statuses, _ = evaluate(history, NO_CONTRACTS, RULE, as_of.date())
    assert statuses.loc[1, "status"] == status
