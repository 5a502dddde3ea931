"""Paths of token pages made once per URL name are the paths reverse() makes."""

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from journeys.status.links import order_status_token
from journeys.token_urls import token_path


@pytest.mark.parametrize("name", ["order-status", "tracked-link"])
@pytest.mark.parametrize(
    "token",
    [
        order_status_token(order_id=12, shop_id=3),  # signed: letters, digits, "-", "_" and ":"
        "AbC-_x9",
        "with space & ümlaut?#",
        "a%2Fb",
    ],
)
def test_the_path_of_a_token_is_what_reverse_makes(name, token):
    assert token_path(name, token) == reverse(name, args=[token])


def test_a_script_prefix_is_honoured():
    set_script_prefix("/care/")
    try:
        assert token_path("tracked-link", "tok") == reverse("tracked-link", args=["tok"])
        assert token_path("tracked-link", "tok").startswith("/care/")
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("token", ["", "a/b"])
def test_what_is_not_a_path_segment_is_refused_as_reverse_refuses_it(token):
    with pytest.raises(NoReverseMatch):
        token_path("order-status", token)
