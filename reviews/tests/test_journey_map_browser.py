"""The journey map in a desktop browser (headless Chromium, merchant/tests/browser.py): the owner logs in, lands on
the map of the last 30 days, reads the stages and their counts, and opens a stage's orders. Screenshots in light
and dark themes are kept in docs/screenshots/ (renewed with UPDATE_SCREENSHOTS=1).
"""

import re

from playwright.sync_api import expect

from merchant.tests.browser import admin_login
from reviews.tests.journey_seed import journey_seed, recent_first_day

PASSWORD = "correct horse battery staple"  # UserFactory's


def test_the_owner_lands_on_the_journey_map_and_opens_a_stages_orders(
    desktop_page, owner, shop, other_shop, screenshots
):
    journey_seed(shop, other_shop, first_day=recent_first_day())
    page = desktop_page

    admin_login(page, username=owner.username, password=PASSWORD)

    flow = page.locator(".insight-flow svg")
    expect(page.get_by_role("heading", name="The journey")).to_be_visible()
    stages = flow.locator("a.flow-stage")
    expect(stages).to_have_count(7)
    expect(stages.locator("text.label")).to_have_text(
        ["Placed", "Paid", "Shipped", "Delivered", "Reviewed", "Bought again", "Advocate"]
    )
    expect(stages.locator("text.big")).to_have_text(["10", "8", "4", "3", "2", "1", "1"])
    expect(flow).to_contain_text("67%")  # delivered -> reviewed
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.screenshot(path=screenshots / "journey-map.png")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "journey-map-dark.png")
    page.emulate_media(color_scheme="light")

    stages.filter(has_text="Reviewed").click()

    expect(page.get_by_role("heading", name="Orders that reached “Reviewed”")).to_be_visible()
    rows = page.locator("table.insight-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:first-child")).to_have_text(["#2", "#1"])
    rows.get_by_role("link", name="#1").click()
    expect(page).to_have_url(re.compile(rf"/admin/merchant/order/{shop.orders.get(number='#1').pk}/change/$"))
