"""Discount codes used at checkout, as the platforms send them: Shopify `discount_codes`, WooCommerce `coupon_lines`."""

import pytest

from merchant.platforms import shopify, woocommerce
from merchant.platforms.snapshots import PayloadError


def test_shopify_discount_codes_of_the_fixture(shopify_order):
    assert shopify.order_snapshot(shopify_order).discount_codes == ("TENOFF",)


def test_shopify_codes_in_order_without_blanks_or_repeats(shopify_order):
    shopify_order["discount_codes"] = [{"code": "A"}, {"code": " "}, {"code": "B"}, {"code": "A"}, {"amount": "1"}]
    assert shopify.order_snapshot(shopify_order).discount_codes == ("A", "B")


@pytest.mark.parametrize("absent", [None, [], {}])
def test_no_codes(shopify_order, woo_order, absent):
    shopify_order["discount_codes"] = absent
    woo_order["coupon_lines"] = absent
    assert shopify.order_snapshot(shopify_order).discount_codes == ()
    assert woocommerce.order_snapshot(woo_order).discount_codes == ()


def test_woocommerce_coupon_lines(woo_order):
    assert woocommerce.order_snapshot(woo_order).discount_codes == ()  # the fixture's list is empty
    woo_order["coupon_lines"] = [{"id": 7, "code": "summer10", "discount": "5.00", "discount_tax": "0.00"}]
    assert woocommerce.order_snapshot(woo_order).discount_codes == ("summer10",)


@pytest.mark.parametrize(
    ("value", "path"),
    [("TENOFF", "discount_codes: not a list"), (["TENOFF"], "discount_codes[0]: not an object")],
)
def test_a_malformed_list_names_its_path(shopify_order, value, path):
    shopify_order["discount_codes"] = value
    with pytest.raises(PayloadError, match=path.replace("[", r"\[").replace("]", r"\]")):
        shopify.order_snapshot(shopify_order)
