"""The orders API's validation rules, as the gateway and the orders worker both apply them."""

import pytest
from pydantic import ValidationError

from contracts.currencies import ACTIVE_CURRENCIES
from contracts.orders import CreateOrderRequest, ListOrdersQuery, OrderItem
from orders.service import order_total
from shared.cursor import BadCursor, decode_cursor, encode_cursor
from tests.unit.test_orders_support import order_body

ITEM = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}


def create(**overrides):
    return CreateOrderRequest.model_validate({"items": [ITEM], "currency": "EUR", **overrides})


def item(**overrides):
    return OrderItem.model_validate({**ITEM, **overrides})


def test_total_is_the_sum_of_quantity_times_unit_price() -> None:
    body = order_body(("A-1", 3, 250), ("B-2", 1, 1999), ("FREE", 5, 0))
    assert order_total(body) == 3 * 250 + 1999


def test_largest_order_total_fits_comfortably_in_an_integer() -> None:
    body = order_body(*[(f"S{i}", 1000, 100_000_000) for i in range(50)])
    assert order_total(body) == 50 * 1000 * 100_000_000


@pytest.mark.parametrize("sku", ["A", "ABC-123", "-", "X" * 32, "0-0-0"])
def test_sku_accepts_upper_case_digits_and_dashes(sku: str) -> None:
    assert item(sku=sku).sku == sku


@pytest.mark.parametrize("sku", ["", "abc", "A B", "X" * 33, "A_1", "Ä", "A\n", 123])
def test_sku_rejects_anything_else(sku: object) -> None:
    with pytest.raises(ValidationError):
        item(sku=sku)


@pytest.mark.parametrize(("field", "good"), [("quantity", [1, 1000]), ("unit_price_cents", [0, 100_000_000])])
def test_integer_bounds_are_inclusive(field: str, good: list[int]) -> None:
    for value in good:
        assert getattr(item(**{field: value}), field) == value


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("quantity", 0),
        ("quantity", 1001),
        ("quantity", -1),
        ("quantity", "2"),
        ("quantity", 1.5),
        ("quantity", True),
        ("unit_price_cents", -1),
        ("unit_price_cents", 100_000_001),
        ("unit_price_cents", "5"),
    ],
)
def test_integers_are_strict_and_bounded(field: str, bad: object) -> None:
    with pytest.raises(ValidationError):
        item(**{field: bad})


def test_one_to_fifty_items() -> None:
    assert len(create(items=[ITEM] * 50).items) == 50
    for items in ([], [ITEM] * 51):
        with pytest.raises(ValidationError):
            create(items=items)


@pytest.mark.parametrize("currency", ["EUR", "USD", "JPY", "CHF", "XCG", "ZWG"])
def test_active_iso_4217_codes_are_accepted(currency: str) -> None:
    assert create(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["eur", "Eur", "EURO", "EU", "", "ABC", "XXX", "XTS", "BGN", "HRK", "DEM", 978])
def test_lower_case_unknown_withdrawn_and_non_currency_codes_are_rejected(currency: object) -> None:
    with pytest.raises(ValidationError) as caught:
        create(currency=currency)
    assert caught.value.errors()[0]["loc"] == ("currency",)


def test_currency_list_is_iso_4217_list_one_without_test_and_no_currency_codes() -> None:
    assert len(ACTIVE_CURRENCIES) == 176
    assert all(len(code) == 3 and code.isupper() for code in ACTIVE_CURRENCIES)


def test_unknown_fields_are_rejected_in_the_body_and_its_items() -> None:
    with pytest.raises(ValidationError):
        create(total_cents=1)
    with pytest.raises(ValidationError):
        create(items=[{**ITEM, "discount": 5}])


def test_list_query_defaults_and_bounds() -> None:
    query = ListOrdersQuery.model_validate({})
    assert (query.limit, query.status, query.cursor, query.user_id) == (20, None, None, None)
    assert ListOrdersQuery.model_validate({"limit": "100", "status": "confirmed"}).limit == 100
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "shipped"}):
        with pytest.raises(ValidationError):
            ListOrdersQuery.model_validate(bad)


def test_cursor_round_trips_and_garbage_is_a_validation_error_on_cursor() -> None:
    order_id = "ord_" + "0" * 23 + "1"
    cursor = encode_cursor("2026-09-08T12:00:00.000Z", order_id)
    assert decode_cursor(cursor) == ("2026-09-08T12:00:00.000Z", order_id)
    assert ListOrdersQuery.model_validate({"cursor": cursor}).cursor == cursor
    for bad in ("!!!", "2026-09-08T12:00:00Z~ord_1", cursor[:-3], cursor.replace("~", "."), cursor + "~x"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)
        with pytest.raises(ValidationError) as caught:
            ListOrdersQuery.model_validate({"cursor": bad})
        assert caught.value.errors()[0]["loc"] == ("cursor",)
