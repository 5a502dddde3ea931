"""Shopify webhook bodies (the REST fixtures of Shopify/shopify_python_api, unwrapped) read into snapshots."""

import copy
import datetime as dt
from decimal import Decimal

import pytest

from merchant.models import Shipment
from merchant.platforms import shopify
from merchant.platforms.snapshots import PayloadError

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- The fixture order as sent -------------------------------------------------------------------


def test_fixture_order_keeps_id_number_currency_and_totals(shopify_order):
    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.external_id == "450789469"
    assert snapshot.number == "#1001"
    assert snapshot.currency == "USD"
    assert snapshot.total == Decimal("409.94")
    assert snapshot.tax_total == Decimal("11.94")
    assert snapshot.discount_total == Decimal("0.00")
    assert snapshot.shipping_total == Decimal("0.00")
    assert all(isinstance(value, Decimal) for value in (snapshot.total, snapshot.tax_total, snapshot.shipping_total))


def test_fixture_order_has_three_lines_with_quantities_prices_and_skus(shopify_order):
    lines = shopify.order_snapshot(shopify_order).lines

    assert [(line.external_id, line.title, line.sku, line.quantity, line.unit_price) for line in lines] == [
        ("466157049", "IPod Nano - 8gb - green", "IPOD2008GREEN", 1, Decimal("199.00")),
        ("518995019", "IPod Nano - 8gb - red", "IPOD2008RED", 1, Decimal("199.00")),
        ("703073504", "IPod Nano - 8gb - black", "IPOD2008BLACK", 1, Decimal("199.00")),
    ]
    assert {line.product_external_id for line in lines} == {"632910392"}


def test_fixture_order_customer_comes_from_customer_object_with_phone_kept_as_text(shopify_order):
    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.external_id == "207119551"
    assert (customer.first_name, customer.last_name) == ("Bob", "Norman")
    assert customer.email == "bob.norman@hostmail.com"
    assert customer.phone_text == "555-625-1199"  # not a valid number; parsing is not the mapper's job
    assert customer.country == "US"


def test_fixture_order_without_customer_locale_has_no_language(shopify_order):
    snapshot = shopify.order_snapshot(shopify_order)

    assert "customer_locale" not in shopify_order
    assert snapshot.language == ""
    assert snapshot.customer.language == ""


def test_fixture_order_without_marketing_consent_records_none(shopify_order):
    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.email_marketing_consent_at is None
    assert customer.sms_marketing_consent_at is None
    assert customer.consent_source == ""


def test_authorized_order_is_not_paid_and_keeps_both_status_words(shopify_order):
    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.paid_at is None
    assert snapshot.fully_refunded is False
    assert snapshot.cancelled_at is None
    assert snapshot.cancel_reason == ""
    assert snapshot.raw_status == "financial_status=authorized, fulfillment_status=null"


def test_fixture_order_times_are_converted_to_utc(shopify_order):
    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.placed_at == utc(2008, 1, 10, 16, 0)  # "2008-01-10T11:00:00-05:00"
    assert snapshot.placed_at.utcoffset() == dt.timedelta(0)
    assert snapshot.updated_at == utc(2008, 1, 10, 16, 0)


def test_unfulfilled_order_skips_its_failed_fulfillment(shopify_order):
    snapshot = shopify.order_snapshot(shopify_order)

    assert shopify_order["fulfillments"][0]["status"] == "failure"
    assert snapshot.fulfillment == "none"
    assert snapshot.shipments == ()
    assert snapshot.refunds == ()


def test_order_status_url_and_test_flag_go_to_extra(shopify_order):
    shopify_order["order_status_url"] = "https://shop.example/1/orders/abc/authenticate?key=k"
    shopify_order["test"] = True

    extra = shopify.order_snapshot(shopify_order).extra

    assert extra == {"order_status_url": "https://shop.example/1/orders/abc/authenticate?key=k", "test": True}


# --- Payment, cancellation, fulfilment -----------------------------------------------------------


@pytest.mark.parametrize("financial_status", ["paid", "partially_refunded", "refunded"])
def test_paid_financial_statuses_set_paid_at_from_processed_at(shopify_order, financial_status):
    shopify_order["financial_status"] = financial_status
    shopify_order["processed_at"] = "2008-01-10T11:05:00-05:00"

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.paid_at == utc(2008, 1, 10, 16, 5)
    assert snapshot.fully_refunded is (financial_status == "refunded")
    assert snapshot.raw_status == f"financial_status={financial_status}, fulfillment_status=null"


def test_paid_order_without_processed_at_is_paid_at_its_last_update(shopify_order):
    shopify_order["financial_status"] = "paid"
    shopify_order["updated_at"] = "2008-01-11T09:00:00+01:00"

    assert shopify.order_snapshot(shopify_order).paid_at == utc(2008, 1, 11, 8, 0)


@pytest.mark.parametrize(
    "financial_status", ["pending", "authorized", "partially_paid", "voided", "expired", "brand_new_state", None]
)
def test_unpaid_or_unknown_financial_statuses_leave_order_unpaid(shopify_order, financial_status):
    shopify_order["financial_status"] = financial_status

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.paid_at is None
    assert snapshot.fully_refunded is False


@pytest.mark.parametrize(
    ("fulfillment_status", "expected"),
    [("fulfilled", "full"), ("partial", "partial"), (None, "none"), ("restocked", "none"), ("on_hold", "none")],
)
def test_order_fulfillment_status_maps_to_none_partial_or_full(shopify_order, fulfillment_status, expected):
    shopify_order["fulfillment_status"] = fulfillment_status

    assert shopify.order_snapshot(shopify_order).fulfillment == expected


def test_cancelled_order_has_cancel_time_and_reason(shopify_order):
    shopify_order["cancelled_at"] = "2008-01-11T10:00:00-05:00"
    shopify_order["cancel_reason"] = "customer"
    shopify_order["financial_status"] = "voided"

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.cancelled_at == utc(2008, 1, 11, 15, 0)
    assert snapshot.cancel_reason == "customer"
    assert snapshot.paid_at is None


def test_shipping_total_sums_the_shipping_lines(shopify_order):
    extra_line = copy.deepcopy(shopify_order["shipping_lines"][0])
    shopify_order["shipping_lines"][0]["price"] = "4.50"
    extra_line["price"] = "5.25"
    shopify_order["shipping_lines"].append(extra_line)

    assert shopify.order_snapshot(shopify_order).shipping_total == Decimal("9.75")


def test_order_without_shipping_lines_has_zero_shipping(shopify_order):
    del shopify_order["shipping_lines"]

    assert shopify.order_snapshot(shopify_order).shipping_total == Decimal("0")


def test_order_without_name_falls_back_to_order_number(shopify_order):
    del shopify_order["name"]

    assert shopify.order_snapshot(shopify_order).number == "1001"


def test_successful_embedded_fulfillment_becomes_a_shipment(shopify_order):
    fulfillment = shopify_order["fulfillments"][0]
    fulfillment.update(status="success", shipment_status="in_transit", tracking_company="UPS")
    shopify_order["fulfillment_status"] = "partial"

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.fulfillment == "partial"
    [shipment] = snapshot.shipments
    assert shipment.external_id == "255858046"
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z2345")
    assert shipment.status == "in_transit"
    assert shipment.raw_status == "in_transit"
    assert shipment.line_external_ids == ("466157049",)
    assert shipment.shipped_at == utc(2014, 1, 22, 20, 58, 27)


@pytest.mark.parametrize("void_status", ["cancelled", "error", "failure"])
def test_void_embedded_fulfillments_are_skipped_but_others_kept(shopify_order, void_status):
    good = copy.deepcopy(shopify_order["fulfillments"][0])
    good.update(id=255858047, status="success")
    shopify_order["fulfillments"][0]["status"] = void_status
    shopify_order["fulfillments"].append(good)

    shipments = shopify.order_snapshot(shopify_order).shipments

    assert [shipment.external_id for shipment in shipments] == ["255858047"]


def test_unknown_shipment_status_keeps_the_word_without_a_status(shopify_order):
    shopify_order["fulfillments"][0].update(status="success", shipment_status="buyer_action_required")

    [shipment] = shopify.order_snapshot(shopify_order).shipments

    assert shipment.status is None
    assert shipment.raw_status == "buyer_action_required"


def test_embedded_refunds_are_read_like_refund_webhooks(shopify_order, shopify_refund):
    shopify_order["financial_status"] = "partially_refunded"
    shopify_order["refunds"] = [shopify_refund]

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.refunds == (shopify.refund_snapshot(shopify_refund)[1],)
    assert snapshot.refunds[0].amount == Decimal("209.00")
    assert snapshot.fully_refunded is False


# --- Language and customer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de-DE", "de"),
        ("de", "de"),
        ("en-US", "en"),
        ("ru", "ru"),
        ("ko", "ko"),
        ("zh-CN", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh-TW", ""),  # traditional Chinese is not offered
        ("zh-HK", ""),
        ("uk-UA", ""),
        (None, ""),
    ],
)
def test_customer_locale_sets_order_and_customer_language(shopify_order, locale, expected):
    shopify_order["customer_locale"] = locale

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.language == expected
    assert snapshot.customer.language == expected


def test_guest_order_without_customer_builds_customer_from_order_fields(shopify_order):
    del shopify_order["customer"]

    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.external_id is None
    assert customer.email == "bob.norman@hostmail.com"
    assert (customer.first_name, customer.last_name) == ("Bob", "Norman")  # from the shipping address
    assert customer.phone_text == "555-625-1199"
    assert customer.country == "US"


def test_guest_names_come_from_billing_address_when_nothing_is_shipped(shopify_order):
    del shopify_order["customer"]
    del shopify_order["shipping_address"]
    shopify_order["billing_address"].update(first_name="Alice", last_name="Payer")

    customer = shopify.order_snapshot(shopify_order).customer

    assert (customer.first_name, customer.last_name) == ("Alice", "Payer")
    assert customer.country == "US"


def test_guest_order_without_email_or_phone_has_no_customer(shopify_order):
    del shopify_order["customer"]
    shopify_order["email"] = None
    shopify_order["phone"] = None
    shopify_order["shipping_address"]["phone"] = None
    shopify_order["billing_address"]["phone"] = ""

    assert shopify.order_snapshot(shopify_order).customer is None


def test_order_without_any_address_still_maps(shopify_order):
    for key in ("shipping_address", "billing_address"):
        del shopify_order[key]
    del shopify_order["customer"]["default_address"]

    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.country == ""
    assert customer.phone_text == ""
    assert customer.email == "bob.norman@hostmail.com"


def test_null_customer_phone_falls_back_to_order_then_address_phones(shopify_order):
    shopify_order["customer"]["phone"] = None
    shopify_order["phone"] = "+1 502 555 0100"
    assert shopify.order_snapshot(shopify_order).customer.phone_text == "+1 502 555 0100"

    shopify_order["phone"] = None
    shopify_order["shipping_address"]["phone"] = None
    shopify_order["billing_address"]["phone"] = "555-555-BILL"
    assert shopify.order_snapshot(shopify_order).customer.phone_text == "555-555-BILL"


def test_customer_phone_wins_over_address_phones(shopify_order):
    shopify_order["customer"]["phone"] = "+15025550199"

    assert shopify.order_snapshot(shopify_order).customer.phone_text == "+15025550199"


def test_customer_email_falls_back_to_order_email(shopify_order):
    shopify_order["customer"]["email"] = None
    shopify_order["email"] = "orders@example.com"

    assert shopify.order_snapshot(shopify_order).customer.email == "orders@example.com"


def test_buyer_accepting_marketing_at_checkout_consents_to_email_at_order_time(shopify_order):
    shopify_order["buyer_accepts_marketing"] = True

    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.email_marketing_consent_at == utc(2008, 1, 10, 16, 0)
    assert customer.sms_marketing_consent_at is None
    assert customer.consent_source == "shopify checkout"


def test_subscribed_marketing_consents_use_their_own_times(shopify_order):
    shopify_order["customer"]["email_marketing_consent"] = {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2008-01-09T10:00:00-05:00",
    }
    shopify_order["customer"]["sms_marketing_consent"] = {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": None,
        "consent_collected_from": "SHOPIFY",
    }

    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.email_marketing_consent_at == utc(2008, 1, 9, 15, 0)
    assert customer.sms_marketing_consent_at == utc(2008, 1, 10, 16, 0)  # no time given: the order's
    assert customer.consent_source == "shopify checkout"


def test_unsubscribed_customer_is_not_consenting_even_if_checkout_box_was_ticked(shopify_order):
    shopify_order["buyer_accepts_marketing"] = True
    shopify_order["customer"]["email_marketing_consent"] = {"state": "unsubscribed", "consent_updated_at": None}
    shopify_order["customer"]["sms_marketing_consent"] = {"state": "pending"}

    customer = shopify.order_snapshot(shopify_order).customer

    assert customer.email_marketing_consent_at is None
    assert customer.sms_marketing_consent_at is None
    assert customer.consent_source == ""


def test_null_product_id_gives_line_without_product(shopify_order):
    shopify_order["line_items"][1]["product_id"] = None

    lines = shopify.order_snapshot(shopify_order).lines

    assert lines[1].product_external_id is None
    assert lines[0].product_external_id == "632910392"


def test_line_without_name_uses_title(shopify_order):
    del shopify_order["line_items"][0]["name"]

    assert shopify.order_snapshot(shopify_order).lines[0].title == "IPod Nano - 8gb"


# --- Ids and broken bodies -----------------------------------------------------------------------


def test_64_bit_ids_are_kept_digit_for_digit(shopify_order):
    shopify_order["id"] = 820982911946154508
    shopify_order["line_items"][0]["id"] = 866550311766439020
    shopify_order["customer"]["id"] = 115310627314723954

    snapshot = shopify.order_snapshot(shopify_order)

    assert snapshot.external_id == "820982911946154508"
    assert snapshot.lines[0].external_id == "866550311766439020"
    assert snapshot.customer.external_id == "115310627314723954"


def test_float_id_is_refused_because_digits_are_already_lost(shopify_order):
    shopify_order["id"] = 8.20982911946154508e17

    with pytest.raises(PayloadError, match=r"^id: not an integer id"):
        shopify.order_snapshot(shopify_order)


def test_missing_id_is_a_payload_error(shopify_order):
    del shopify_order["id"]

    with pytest.raises(PayloadError, match=r"^id: missing"):
        shopify.order_snapshot(shopify_order)


@pytest.mark.parametrize("body", [[], "order", None, 42])
def test_body_that_is_not_an_object_is_a_payload_error(body):
    with pytest.raises(PayloadError, match=r"^body: not a JSON object"):
        shopify.order_snapshot(body)


def test_non_numeric_quantity_names_the_line(shopify_order):
    shopify_order["line_items"][0]["quantity"] = "x"

    with pytest.raises(PayloadError, match=r"^line_items\[0\]\.quantity: not a whole number"):
        shopify.order_snapshot(shopify_order)


def test_quantity_given_as_digit_text_is_read(shopify_order):
    shopify_order["line_items"][2]["quantity"] = "3"

    assert shopify.order_snapshot(shopify_order).lines[2].quantity == 3


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("total_price", "abc", r"^total_price: not a decimal amount"),
        ("total_price", None, r"^total_price: missing"),
        ("total_tax", "NaN", r"^total_tax: not a usable amount"),
        ("line_items", {"id": 1}, r"^line_items: not a list"),
        ("line_items", ["not an object"], r"^line_items\[0\]: not an object"),
        ("created_at", "yesterday", r"^created_at: not an ISO 8601 date-time"),
        ("customer", "bob", r"^customer: not an object"),
    ],
)
def test_structurally_wrong_fields_are_payload_errors_naming_the_field(shopify_order, field, value, error):
    shopify_order[field] = value

    with pytest.raises(PayloadError, match=error):
        shopify.order_snapshot(shopify_order)


def test_bad_line_price_names_the_line(shopify_order):
    shopify_order["line_items"][2]["price"] = "199,00"

    with pytest.raises(PayloadError, match=r"^line_items\[2\]\.price: not a decimal amount"):
        shopify.order_snapshot(shopify_order)


def test_missing_created_at_falls_back_to_processed_at(shopify_order):
    del shopify_order["created_at"]
    shopify_order["processed_at"] = "2008-01-10T12:00:00-05:00"

    assert shopify.order_snapshot(shopify_order).placed_at == utc(2008, 1, 10, 17, 0)


def test_order_without_any_creation_time_is_a_payload_error(shopify_order):
    del shopify_order["created_at"]

    with pytest.raises(PayloadError, match=r"^created_at: missing"):
        shopify.order_snapshot(shopify_order)


# --- fulfillments/create, fulfillments/update ----------------------------------------------------


def test_fixture_fulfillment_gives_order_id_and_tracking_without_status(shopify_fulfillment):
    order_id, shipment = shopify.fulfillment_snapshot(shopify_fulfillment)

    assert "shipment_status" not in shopify_fulfillment
    assert order_id == "450789469"
    assert shipment.external_id == "255858046"
    assert shipment.carrier == "null-company"
    assert shipment.tracking_number == "1Z2345"
    assert shipment.tracking_url == "http://www.google.com/search?q=1Z2345"
    assert shipment.status is None
    assert shipment.raw_status == ""
    assert shipment.shipped_at == utc(2013, 11, 1, 20, 6, 8)
    assert shipment.updated_at == utc(2013, 11, 1, 20, 6, 8)
    assert shipment.line_external_ids == ("466157049",)
    assert shopify.fulfillment_is_void(shopify_fulfillment) is False


@pytest.mark.parametrize(
    ("shipment_status", "expected"),
    [("delivered", "delivered"), ("out_for_delivery", "out_for_delivery"), ("attempted_delivery", "failure")],
)
def test_fulfillment_shipment_status_maps_to_shipment_status(shopify_fulfillment, shipment_status, expected):
    shopify_fulfillment["shipment_status"] = shipment_status

    _, shipment = shopify.fulfillment_snapshot(shopify_fulfillment)

    assert shipment.status == expected
    assert shipment.raw_status == shipment_status


@pytest.mark.parametrize(
    ("shipment_status", "expected"),
    [
        ("label_printed", "label_created"),
        ("label_purchased", "label_created"),
        ("confirmed", "label_created"),
        ("in_transit", "in_transit"),
        ("carrier_picked_up", "in_transit"),
        ("picked_up", "in_transit"),
        ("delayed", "in_transit"),
        ("ready_for_pickup", "out_for_delivery"),
        ("failure", "failure"),
        ("returning_to_sender", "failure"),
        (None, None),
        ("ready_for_recipient_pickup", None),
    ],
)
def test_every_shipment_status_word_maps_to_a_shipment_status_or_none(shopify_fulfillment, shipment_status, expected):
    shopify_fulfillment["shipment_status"] = shipment_status

    _, shipment = shopify.fulfillment_snapshot(shopify_fulfillment)

    assert shipment.status == expected
    assert shipment.raw_status == (shipment_status or "")


def test_mapped_shipment_statuses_are_all_model_statuses():
    assert set(shopify.SHIPMENT_STATUSES.values()) <= set(Shipment.Status.values)


def test_fulfillment_without_single_tracking_fields_uses_first_of_the_lists(shopify_fulfillment):
    shopify_fulfillment["tracking_number"] = None
    shopify_fulfillment["tracking_url"] = None
    shopify_fulfillment["tracking_numbers"] = ["", "1Z9999", "1Z0000"]
    shopify_fulfillment["tracking_urls"] = ["https://track.example/1Z9999"]
    shopify_fulfillment["tracking_company"] = None

    _, shipment = shopify.fulfillment_snapshot(shopify_fulfillment)

    assert shipment.tracking_number == "1Z9999"
    assert shipment.tracking_url == "https://track.example/1Z9999"
    assert shipment.carrier == ""


@pytest.mark.parametrize("status", ["cancelled", "error", "failure"])
def test_cancelled_or_failed_fulfillment_is_reported_void(shopify_fulfillment, status):
    shopify_fulfillment["status"] = status

    assert shopify.fulfillment_is_void(shopify_fulfillment) is True


@pytest.mark.parametrize(("field", "error"), [("order_id", r"^order_id: missing"), ("id", r"^id: missing")])
def test_fulfillment_without_its_ids_is_a_payload_error(shopify_fulfillment, field, error):
    del shopify_fulfillment[field]

    with pytest.raises(PayloadError, match=error):
        shopify.fulfillment_snapshot(shopify_fulfillment)


# --- refunds/create ------------------------------------------------------------------------------


def test_fixture_refund_amount_comes_from_successful_refund_transactions(shopify_refund):
    order_id, refund = shopify.refund_snapshot(shopify_refund)

    assert order_id == "450789469"
    assert refund.external_id == "509562969"
    assert refund.amount == Decimal("209.00")
    assert refund.note == "it broke during shipping"
    assert refund.refunded_at == utc(2016, 6, 20, 17, 35, 6)


def test_failed_and_non_refund_transactions_do_not_count(shopify_refund):
    base = shopify_refund["transactions"][0]
    failed = copy.deepcopy(base) | {"id": 2, "status": "failure", "amount": "50.00"}
    sale = copy.deepcopy(base) | {"id": 3, "kind": "sale", "amount": "70.00"}
    second = copy.deepcopy(base) | {"id": 4, "amount": "1.50"}
    shopify_refund["transactions"] += [failed, sale, second]

    _, refund = shopify.refund_snapshot(shopify_refund)

    assert refund.amount == Decimal("210.50")


def test_refund_without_successful_transactions_falls_back_to_line_subtotals(shopify_refund):
    shopify_refund["transactions"] = []
    shopify_refund["refund_line_items"][0]["subtotal"] = 195.66  # a JSON number in newer API versions
    shopify_refund["refund_line_items"][1]["subtotal"] = "199.00"

    _, refund = shopify.refund_snapshot(shopify_refund)

    assert refund.amount == Decimal("394.66")


def test_refund_without_transactions_or_subtotals_is_zero(shopify_refund):
    del shopify_refund["transactions"]

    _, refund = shopify.refund_snapshot(shopify_refund)

    assert refund.amount == Decimal("0")


def test_bad_refund_transaction_amount_names_the_transaction(shopify_refund):
    shopify_refund["transactions"][0]["amount"] = "lots"

    with pytest.raises(PayloadError, match=r"^transactions\[0\]\.amount: not a decimal amount"):
        shopify.refund_snapshot(shopify_refund)


def test_bad_embedded_refund_is_named_by_its_path_in_the_order(shopify_order, shopify_refund):
    shopify_refund["transactions"][0]["amount"] = "lots"
    shopify_order["refunds"] = [shopify_refund]

    with pytest.raises(PayloadError, match=r"^refunds\[0\]\.transactions\[0\]\.amount"):
        shopify.order_snapshot(shopify_order)


# --- disputes/create, disputes/update ------------------------------------------------------------


def test_fixture_dispute_summary_has_no_order(shopify_dispute):
    assert shopify.dispute_summary(shopify_dispute) == {
        "external_id": "1052608616",
        "order_external_id": None,
        "type": "chargeback",
        "reason": "fraudulent",
        "status": "won",
        "amount": "100.00",
        "currency": "USD",
        "evidence_due_by": "2013-07-03T23:00:00+00:00",
    }


def test_dispute_with_order_gives_order_id_as_text(shopify_dispute):
    shopify_dispute["order_id"] = 820982911946154508
    shopify_dispute["evidence_due_by"] = None

    summary = shopify.dispute_summary(shopify_dispute)

    assert summary["order_external_id"] == "820982911946154508"
    assert summary["evidence_due_by"] is None


def test_dispute_without_id_is_a_payload_error(shopify_dispute):
    del shopify_dispute["id"]

    with pytest.raises(PayloadError, match=r"^id: missing"):
        shopify.dispute_summary(shopify_dispute)
