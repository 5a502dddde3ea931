"""The notification offer on a phone, in headless Chromium (merchant/tests/browser.py).

What runs for real: the page's script, the service worker's registration in the order's own scope
(served from /o/sw.js), the permission prompt (granted or denied by the test), and the subscribe and
unsubscribe requests the script sends. What cannot run here: `PushManager.subscribe()` itself, which
asks the browser vendor's push service (Google's, for Chromium) for an endpoint; this machine reaches
no such service, and Playwright's contexts are incognito, where Chromium refuses push altogether. So
one test sees the page say so, and the others stand in for `subscribe()` with a browser of the local
fake push service: the subscription the page then posts is one the dispatcher can really send to.
"""

import json

import pytest
from playwright.sync_api import expect

from journeys.models import ConsentRecord, Message, PushSubscription
from journeys.push.offer import push_scope
from journeys.services.dispatch import Dispatcher
from journeys.status.links import order_status_token
from merchant.actors import Actor
from merchant.services import orders
from merchant.tests.factories import CustomerFactory, OrderFactory

SYSTEM = Actor.system("test")

# Stands in for the browser vendor's push service: `subscribe()` answers with the fake's subscription
# and keeps what the page asked for, so the test can check the key it passed.
FAKE_SUBSCRIBE = """
(subscription) => {
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.pushAsked = { userVisibleOnly: options.userVisibleOnly, key: btoa(String.fromCharCode(...key)) };
    current = { endpoint: subscription.endpoint, toJSON: () => subscription,
                unsubscribe: async () => { window.pushUnsubscribed = true; current = null; return true; } };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
}
"""


@pytest.fixture
def order(care_shop):
    customer = CustomerFactory(
        shop=care_shop, first_name="Anna", language="de", country="DE", time_zone="Europe/Berlin"
    )
    return OrderFactory(shop=care_shop, customer=customer, number="#1001", language="de", currency="EUR")


@pytest.fixture
def offer_page(settings, phone_page_make, live_server, order):
    """The offer on a test page (journeys/tests/push_pages.py) of the order, on a German phone."""
    settings.ROOT_URLCONF = "journeys.tests.push_pages"

    def open_page(*, permission: str = "granted", subscription: dict | None = None):
        page = phone_page_make(locale="de-DE")
        if permission == "granted":
            page.context.grant_permissions(["notifications"], origin=live_server.url)
        # Otherwise headless Chromium answers the permission prompt with "denied", as a customer can.
        if subscription is not None:
            page.add_init_script(f"({FAKE_SUBSCRIBE})({json.dumps(subscription)})")
        page.goto(f"/push-offer-page/{order_status_token(order_id=order.pk, shop_id=order.shop_id)}")
        return page

    return open_page


def scope_worker(page, order) -> str | None:
    """The script of the active service worker registered in the order's scope, if any."""
    return page.evaluate(
        "async (scope) => { const found = await navigator.serviceWorker.getRegistration(scope);"
        " return found && found.active ? found.active.scriptURL : null; }",
        push_scope(order_id=order.pk, shop_id=order.shop_id),
    )


def test_a_customer_turns_notifications_on_and_off_and_the_next_update_reaches_her_browser(
    offer_page, push_service, vapid, order, screenshots
):
    browser = push_service.subscribe()
    page = offer_page(subscription=browser.subscription_json)
    button = page.get_by_role("button", name="Über diese Bestellung benachrichtigen")
    expect(page.get_by_text("sobald es bei Ihrer Bestellung weitergeht")).to_be_visible()
    page.screenshot(path=screenshots / "push-offer.png", full_page=True)

    button.click()

    expect(
        page.get_by_text("Benachrichtigungen zu dieser Bestellung sind auf diesem Gerät eingeschaltet.")
    ).to_be_visible()
    assert scope_worker(page, order).endswith("/o/sw.js")
    asked = page.evaluate("() => window.pushAsked")
    assert asked["userVisibleOnly"] is True
    # The page handed the browser our VAPID public key, decoded from base64url correctly.
    assert asked["key"].rstrip("=").replace("+", "-").replace("/", "_") == vapid.public_key
    subscription = PushSubscription.objects.get()
    assert (subscription.order_id, subscription.endpoint, subscription.language) == (order.pk, browser.endpoint, "de")
    assert "Pixel 7" in subscription.user_agent

    # The shop confirms the payment: the notification reaches the browser, decrypted there.
    orders.order_mark_paid(order=order, actor=SYSTEM)
    with Dispatcher() as dispatcher:
        assert dict(dispatcher.drain().tally) == {"sent": 1}
    [received] = push_service.received_by(browser)
    assert received.payload["title"].endswith("Zahlung eingegangen")
    assert Message.objects.get(trigger="payment_confirmed").channel == "push"

    page.get_by_role("button", name="Benachrichtigungen ausschalten").click()

    expect(button).to_be_visible()
    assert page.evaluate("() => window.pushUnsubscribed") is True
    subscription.refresh_from_db()
    assert subscription.removed_reason == "unsubscribed"
    assert list(ConsentRecord.objects.values_list("channel", "action")) == [("push", "opted_in"), ("push", "opted_out")]


def test_without_a_reachable_push_service_the_page_says_it_did_not_work_and_nothing_is_stored(offer_page, vapid, order):
    page = offer_page()

    page.get_by_role("button", name="Über diese Bestellung benachrichtigen").click()

    expect(page.get_by_role("alert")).to_have_text("Das hat nicht geklappt. Bitte versuchen Sie es später noch einmal.")
    assert scope_worker(page, order).endswith("/o/sw.js"), "the service worker registered all the same"
    assert not PushSubscription.objects.exists()


def test_a_customer_who_blocks_notifications_is_told_where_to_change_it(offer_page, vapid, order):
    page = offer_page(permission="denied")

    page.get_by_role("button", name="Über diese Bestellung benachrichtigen").click()

    expect(page.get_by_text("in den Einstellungen Ihres Browsers blockiert")).to_be_visible()
    assert not PushSubscription.objects.exists()
