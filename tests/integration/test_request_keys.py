"""One-time request keys: a write repeated with its key (a double click, a retry, a rerun, a second process)
records once and answers the first run's result, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from sqlalchemy import func
from sqlmodel import select

from core.errors import ValidationError
from core.models import AuditEvent, Payment, RequestKey
from core.services import billing
from tests.integration.money_fixtures import signed_contract


def count(world, model) -> int:
    return world.read(lambda ctx: ctx.session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def account(world) -> int:
    return signed_contract(world)["account"]


def test_the_same_key_records_one_payment(world, account):
    key = "pay-form-0001-abcdef"
    first = world.do("finance", billing.record_payment, account_id=account, amount="1000", reference="BANK-7",
                     request_key=key)
    again = world.do("finance", billing.record_payment, account_id=account, amount="1000", reference="BANK-7",
                     request_key=key)
    assert again == first
    assert count(world, Payment) == 1
    assert world.read(lambda ctx: ctx.session.exec(select(func.count()).select_from(AuditEvent)
                                                   .where(AuditEvent.action == "payment.record")).one()) == 1
    other = world.do("finance", billing.record_payment, account_id=account, amount="1000", reference="BANK-8",
                     request_key="pay-form-0002-abcdef")
    assert other != first and count(world, Payment) == 2


def test_a_refused_write_keeps_no_key(world, account):
    key = "pay-form-0003-abcdef"
    with pytest.raises(ValidationError, match="amount"):
        world.do("finance", billing.record_payment, account_id=account, amount="-5", request_key=key)
    assert count(world, RequestKey) == 0
    assert world.do("finance", billing.record_payment, account_id=account, amount="5", request_key=key)
    assert count(world, Payment) == 1


def test_a_key_is_one_action_of_one_person(world, account):
    key = "pay-form-0004-abcdef"
    world.do("finance", billing.record_payment, account_id=account, amount="5", request_key=key)
    with pytest.raises(ValidationError, match="request_key: .* already used for another action"):
        world.do("leader", billing.record_payment, account_id=account, amount="5", request_key=key)
    with pytest.raises(ValidationError, match="request_key"):
        world.do("finance", billing.record_payment, account_id=account, amount="5", request_key="short")
    assert count(world, Payment) == 1


def test_concurrent_runs_of_one_key_record_once(world, account):
    """Eight threads submit the same form at one instant (a burst of retries): one payment, one answer."""
    key = "pay-form-0005-abcdef"
    barrier, answers, errors = threading.Barrier(8), [], []

    def submit():
        barrier.wait()
        try:
            answers.append(world.do("finance", billing.record_payment, account_id=account, amount="1000",
                                    request_key=key))
        except Exception as exc:   # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert len(set(answers)) == 1 and count(world, Payment) == 1
    assert world.read(lambda ctx: ctx.session.exec(select(Payment.amount)).one()) == D("1000.00")
