"""Shared fixtures of the reviews tests: a shop asking for reviews, a customer, delivered orders, a clock."""

import pytest

from journeys.models import CareRule
from merchant.models import Customer
from merchant.tests.factories import ProductFactory
from reviews.models import ReviewPolicy
from reviews.services.policy import review_setup_for_shop
from reviews.triggers import review_triggers_register


@pytest.fixture(autouse=True)
def review_triggers():
    # A journeys test registers a stand-in `review_request` and removes it afterwards: put ours back.
    review_triggers_register()


@pytest.fixture(autouse=True)
def no_support_queue():
    # The support queue (returns) registers itself at start-up; reviews' tests bring their own stand-in, or none.
    from merchant.support_handoff import handler_unregister

    handler_unregister()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def review_shop(shop):
    """The shop with its review policy and both review rules on (email first), and the order-care rules off."""
    shop.contact_email = "help@alpha.example"
    shop.save(update_fields=["contact_email"])
    review_setup_for_shop(shop)
    CareRule.objects.filter(shop=shop, trigger__in=["review_request", "review_reminder"]).update(is_active=True)
    return shop


@pytest.fixture
def policy(review_shop):
    return ReviewPolicy.objects.get(shop=review_shop)


@pytest.fixture
def customer(review_shop):
    return Customer.objects.create(
        shop=review_shop,
        first_name="Jamie",
        last_name="Rivera",
        email="jamie@example.com",
        phone="+12125550123",
        country="US",
        language="en",
        time_zone="America/New_York",
    )


@pytest.fixture
def products(review_shop):
    return {
        "voucher": ProductFactory(shop=review_shop, title="Dinner for two voucher", category="vouchers"),
        "socks": ProductFactory(shop=review_shop, title="Wool socks", category="apparel"),
        "washer": ProductFactory(shop=review_shop, title="Washing machine", category="appliances"),
    }


@pytest.fixture
def jpeg():
    """make(name=..., gps=True): a JPEG upload as a phone takes it, with GPS EXIF when asked."""
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    def make(name: str = "IMG_0042.jpg", *, gps: bool = True, size=(640, 480), color=(200, 40, 40)):
        image = Image.new("RGB", size, color)
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0110] = "Phone 15"  # Model
        exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show it upright
        if gps:
            exif[0x8825] = {  # GPSInfo: Berlin, Brandenburg Gate
                1: "N",
                2: (52.0, 30.0, 58.0),
                3: "E",
                4: (13.0, 22.0, 39.0),
            }
        buffer = BytesIO()
        image.save(buffer, "JPEG", exif=exif, quality=90)
        return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")

    return make
