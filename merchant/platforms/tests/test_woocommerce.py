"""WooCommerce order bodies (the REST v3 example of woocommerce-rest-api-docs) read into snapshots."""

import copy
import datetime as dt
from decimal import Decimal

import pytest

from merchant.platforms import woocommerce
from merchant.platforms.snapshots import PayloadError, RefundSnapshot, ShipmentSnapshot


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


PLACED = utc(2017, 3, 22, 19, 28, 2)  # date_created_gmt, not the site-local date_created (16:28)
MODIFIED = utc(2017, 3, 22, 19, 28, 8)


# --- The fixture order as sent (status "processing") ---------------------------------------------


def test_fixture_order_number_gets_a_hash_and_totals_are_decimals(woo_order):
    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.external_id == "727"
    assert snapshot.number == "#727"
    assert snapshot.currency == "USD"
    assert snapshot.total == Decimal("29.35")
    assert snapshot.shipping_total == Decimal("10.00")
    assert snapshot.tax_total == Decimal("1.35")
    assert snapshot.discount_total == Decimal("0.00")


def test_fixture_lines_unescape_names_and_read_number_prices(woo_order):
    lines = woocommerce.order_snapshot(woo_order).lines

    assert [(line.external_id, line.title, line.sku, line.quantity, line.unit_price) for line in lines] == [
        ("315", "Woo Single #1", "", 2, Decimal("3")),
        ("316", "Ship Your Idea \u2013 Color: Black, Size: M Test", "Bar3", 1, Decimal("12")),
    ]
    assert all(isinstance(line.unit_price, Decimal) for line in lines)
    assert [line.product_external_id for line in lines] == ["93", "22"]


def test_fixture_guest_customer_comes_from_billing_with_phone_as_text(woo_order):
    customer = woocommerce.order_snapshot(woo_order).customer

    assert customer.external_id is None  # customer_id 0: a guest
    assert (customer.first_name, customer.last_name) == ("John", "Doe")
    assert customer.email == "john.doe@example.com"
    assert customer.phone_text == "(555) 555-5555"
    assert customer.country == "US"
    assert customer.language == ""
    assert customer.email_marketing_consent_at is None


def test_fixture_times_are_read_from_gmt_fields_as_utc(woo_order):
    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.placed_at == PLACED
    assert snapshot.updated_at == MODIFIED
    assert snapshot.placed_at.utcoffset() == dt.timedelta(0)


def test_processing_order_is_paid_at_date_paid_and_not_shipped(woo_order):
    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.paid_at == utc(2017, 3, 22, 19, 28, 8)
    assert snapshot.raw_status == "processing"
    assert snapshot.fulfillment == "none"
    assert snapshot.shipments == ()
    assert snapshot.refunds == ()
    assert snapshot.cancelled_at is None
    assert snapshot.fully_refunded is False


def test_processing_order_without_date_paid_is_paid_at_last_modification(woo_order):
    woo_order["date_paid"] = woo_order["date_paid_gmt"] = None
    woo_order["date_modified_gmt"] = "2017-03-23T08:00:00"

    assert woocommerce.order_snapshot(woo_order).paid_at == utc(2017, 3, 23, 8, 0)


# --- Statuses ------------------------------------------------------------------------------------


def test_completed_order_is_fully_shipped_in_one_implied_shipment(woo_order):
    woo_order["status"] = "completed"
    woo_order["date_completed"] = "2017-03-24T09:00:00"
    woo_order["date_completed_gmt"] = "2017-03-24T12:00:00"

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.fulfillment == "full"
    assert snapshot.paid_at == utc(2017, 3, 22, 19, 28, 8)
    assert snapshot.shipments == (
        ShipmentSnapshot(
            external_id="woo-727-completed",
            raw_status="completed",
            shipped_at=utc(2017, 3, 24, 12, 0),
            updated_at=utc(2017, 3, 24, 12, 0),
            line_external_ids=("315", "316"),
        ),
    )
    assert snapshot.shipments[0].status is None
    assert snapshot.raw_status == "completed"


def test_completed_order_without_completion_date_ships_at_last_modification(woo_order):
    woo_order["status"] = "completed"
    woo_order["date_paid_gmt"] = None

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.shipments[0].shipped_at == MODIFIED
    assert snapshot.paid_at == MODIFIED


def test_cancelled_order_is_cancelled_at_last_modification_and_not_paid(woo_order):
    woo_order["status"] = "cancelled"
    woo_order["date_modified_gmt"] = "2017-03-25T10:00:00"

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.cancelled_at == utc(2017, 3, 25, 10, 0)
    assert snapshot.paid_at is None
    assert snapshot.shipments == ()
    assert snapshot.raw_status == "cancelled"


def test_refunded_order_reads_negative_refund_totals_as_positive_amounts(woo_order):
    woo_order["status"] = "refunded"
    woo_order["refunds"] = [
        {"id": 730, "reason": "Damaged in transit", "total": "-10.00"},
        {"id": 731, "reason": "", "total": "-19.35"},
    ]

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.fully_refunded is True
    assert snapshot.paid_at == utc(2017, 3, 22, 19, 28, 8)
    assert snapshot.refunds == (
        RefundSnapshot(external_id="730", amount=Decimal("10.00"), note="Damaged in transit"),
        RefundSnapshot(external_id="731", amount=Decimal("19.35"), note=""),
    )


def test_refunded_order_that_was_never_paid_has_no_paid_time(woo_order):
    woo_order["status"] = "refunded"
    woo_order["date_paid"] = woo_order["date_paid_gmt"] = None

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.paid_at is None
    assert snapshot.fully_refunded is True


def test_partial_refund_on_processing_order_is_listed_without_full_refund(woo_order):
    woo_order["refunds"] = [{"id": 730, "reason": "", "total": "-5.00"}]

    snapshot = woocommerce.order_snapshot(woo_order)

    assert [refund.amount for refund in snapshot.refunds] == [Decimal("5.00")]
    assert snapshot.fully_refunded is False


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "checkout-draft", "trash", "shipped"])
def test_unpaid_and_unknown_statuses_change_nothing_but_raw_status(woo_order, status):
    woo_order["status"] = status

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.paid_at is None
    assert snapshot.cancelled_at is None
    assert snapshot.fulfillment == "none"
    assert snapshot.shipments == ()
    assert snapshot.fully_refunded is False
    assert snapshot.raw_status == status


# --- Number, customer, language ------------------------------------------------------------------


def test_non_numeric_order_number_is_kept_as_is(woo_order):
    woo_order["number"] = "WC-727-A"

    assert woocommerce.order_snapshot(woo_order).number == "WC-727-A"


def test_registered_customer_gets_customer_id_as_external_id(woo_order):
    woo_order["customer_id"] = 42
    woo_order["billing"]["first_name"] = "Jos&eacute;"

    customer = woocommerce.order_snapshot(woo_order).customer

    assert customer.external_id == "42"
    assert customer.first_name == "José"


def test_guest_without_email_or_phone_has_no_customer(woo_order):
    woo_order["billing"]["email"] = ""
    woo_order["billing"]["phone"] = ""

    assert woocommerce.order_snapshot(woo_order).customer is None


def test_guest_with_only_a_shipping_phone_is_kept(woo_order):
    woo_order["billing"].update(email="", phone="")
    woo_order["shipping"]["phone"] = "+1 415 555 0101"

    customer = woocommerce.order_snapshot(woo_order).customer

    assert customer.phone_text == "+1 415 555 0101"


def test_empty_billing_and_shipping_written_by_php_as_lists_are_tolerated(woo_order):
    woo_order["customer_id"] = 42
    woo_order["billing"] = []
    woo_order["shipping"] = []

    customer = woocommerce.order_snapshot(woo_order).customer

    assert customer.external_id == "42"
    assert (customer.email, customer.phone_text, customer.country) == ("", "", "")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("wpml_language", "de", "de"),
        ("_wpml_language", "zh-hans", "zh-hans"),
        ("language", "ko_KR", "ko"),
        ("language", "zh_TW", ""),
        ("some_other_key", "ru", ""),
    ],
)
def test_language_comes_from_multilingual_plugin_meta_data(woo_order, key, value, expected):
    woo_order["meta_data"].append({"id": 13107, "key": key, "value": value})

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.language == expected
    assert snapshot.customer.language == expected


def test_line_with_product_id_zero_has_no_product(woo_order):
    woo_order["line_items"][0]["product_id"] = 0

    assert woocommerce.order_snapshot(woo_order).lines[0].product_external_id is None


def test_fractional_number_price_is_read_exactly_as_written(woo_order):
    woo_order["line_items"][0]["price"] = 3.3

    assert woocommerce.order_snapshot(woo_order).lines[0].unit_price == Decimal("3.3")


def test_order_without_optional_collections_still_maps(woo_order):
    for key in ("refunds", "meta_data", "shipping"):
        del woo_order[key]

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.refunds == ()
    assert snapshot.language == ""


# --- Ids and broken bodies -----------------------------------------------------------------------


def test_large_ids_are_kept_digit_for_digit(woo_order):
    woo_order["id"] = 820982911946154508
    woo_order["number"] = "820982911946154508"

    snapshot = woocommerce.order_snapshot(woo_order)

    assert snapshot.external_id == "820982911946154508"
    assert snapshot.number == "#820982911946154508"


def test_missing_id_is_a_payload_error(woo_order):
    del woo_order["id"]

    with pytest.raises(PayloadError, match=r"^id: missing"):
        woocommerce.order_snapshot(woo_order)


def test_body_that_is_not_an_object_is_a_payload_error(woo_order):
    with pytest.raises(PayloadError, match=r"^body: not a JSON object"):
        woocommerce.order_snapshot([woo_order])


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda body: body["line_items"][1].update(quantity="x"), r"^line_items\[1\]\.quantity: not a whole number"),
        (lambda body: body["line_items"][0].update(price="three"), r"^line_items\[0\]\.price: not a decimal amount"),
        (lambda body: body.update(total="29,35"), r"^total: not a decimal amount"),
        (lambda body: body.update(refunds=[{"id": 1, "total": "minus ten"}]), r"^refunds\[0\]\.total"),
        (lambda body: body.update(line_items="315,316"), r"^line_items: not a list"),
        (lambda body: body.update(date_created_gmt=None), r"^date_created_gmt: missing"),
        (lambda body: body.update(date_created_gmt="22/03/2017"), r"^date_created_gmt: not an ISO 8601"),
    ],
)
def test_structurally_wrong_fields_are_payload_errors_naming_the_field(woo_order, change, error):
    broken = copy.deepcopy(woo_order)
    change(broken)

    with pytest.raises(PayloadError, match=error):
        woocommerce.order_snapshot(broken)
