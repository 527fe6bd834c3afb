"""Issue 12 point 8: an amount typed with another currency's mark is refused naming the books' currency
(config/finance.toml: CNY); '$1000' was read as 1,000.00 yuan."""
from decimal import Decimal

import pytest

from core import validate
from core.errors import ValidationError


@pytest.mark.parametrize("typed", ["$1000", "US$1,000", "€5", "5 EUR", "1000 usd", "HK$5", "£3"])
def test_another_currency_is_refused_naming_the_books_currency(typed):
    with pytest.raises(ValidationError, match=r"amount: .* is in another currency \(.+\); amounts here are in CNY"):
        validate.amount("amount", typed)


@pytest.mark.parametrize("typed,stored", [("¥1,000.50", "1000.50"), ("￥5", "5.00"), (" 1000 RMB ", "1000.00"),
                                          ("CNY 5", "5.00"), ("5元", "5.00"), ("1 cny", "1.00")])
def test_the_books_currency_is_read(typed, stored):
    assert validate.amount("amount", typed) == Decimal(stored)


def test_a_word_that_is_no_currency_is_not_an_amount():
    with pytest.raises(ValidationError, match="'abc5' is not an amount"):
        validate.amount("amount", "abc5")
