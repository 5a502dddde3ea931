"""A person sees and touches only the shops they belong to, however they ask."""

import pytest
from django.urls import reverse

from merchant.models import Customer, Merchant, Tag
from merchant.tests.factories import CustomerFactory, OrderFactory, ProductFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(shop, other_shop):
    """Shop A (alpha) and shop B (beta), each with customers, tags, products and orders."""
    mine = CustomerFactory(shop=shop, email="ann@alpha.example", last_name="Anders", external_id="A-1")
    theirs = CustomerFactory(shop=other_shop, email="bert@beta.example", last_name="Bauer", external_id="B-1")
    return {
        "my_customer": mine,
        "their_customer": theirs,
        "my_tag": TagFactory(shop=shop, name="vip-alpha"),
        "their_tag": TagFactory(shop=other_shop, name="vip-beta"),
        "my_order": OrderFactory(shop=shop, customer=mine, number="#A100"),
        "their_order": OrderFactory(shop=other_shop, customer=theirs, number="#B100"),
        "my_product": ProductFactory(shop=shop, title="Alpha Runner"),
        "their_product": ProductFactory(shop=other_shop, title="Beta Oolong"),
    }


def admin_url(model: str, action: str = "changelist", *args) -> str:
    return reverse(f"admin:merchant_{model}_{action}", args=args)


@pytest.mark.parametrize(
    ("model", "mine", "theirs"),
    [
        ("customer", "ann@alpha.example", "bert@beta.example"),
        ("order", "#A100", "#B100"),
        ("product", "Alpha Runner", "Beta Oolong"),
        ("tag", "vip-alpha", "vip-beta"),
        ("merchant", "Alpha Shoes", "Beta Tea"),
    ],
)
def test_agent_lists_only_their_shop(client, agent, two_shops, model, mine, theirs):
    client.force_login(agent)
    response = client.get(admin_url(model))
    assert response.status_code == 200
    page = response.content.decode()
    assert mine in page
    assert theirs not in page


@pytest.mark.parametrize(
    ("model", "key"),
    [("customer", "their_customer"), ("order", "their_order"), ("product", "their_product"), ("tag", "their_tag")],
)
@pytest.mark.parametrize("action", ["change", "delete", "history"])
def test_another_shops_object_answers_404_by_url(client, owner, two_shops, model, key, action):
    client.force_login(owner)
    response = client.get(admin_url(model, action, two_shops[key].pk))
    assert response.status_code == 404


def test_another_shop_answers_404(client, owner, other_shop):
    client.force_login(owner)
    assert client.get(admin_url("merchant", "change", other_shop.pk)).status_code == 404


def test_a_missing_or_malformed_id_answers_404(client, owner):
    client.force_login(owner)
    assert client.get(admin_url("customer", "change", 999999)).status_code == 404
    assert client.get("/admin/merchant/customer/not-a-number/change/").status_code == 404


def test_posting_to_another_shops_customer_changes_nothing(client, owner, two_shops):
    client.force_login(owner)
    theirs = two_shops["their_customer"]
    response = client.post(admin_url("customer", "change", theirs.pk), {"first_name": "Hacked", "shop": theirs.shop_id})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_name != "Hacked"


def test_search_does_not_reach_another_shop(client, owner, two_shops):
    client.force_login(owner)
    response = client.get(admin_url("customer"), {"q": "bert@beta.example"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_shop_filter_offers_only_own_shops(client, owner, shop, two_shops):
    from merchant.services import membership_set

    third = Merchant.objects.create(name="Gamma Goods", slug="gamma", country="KR", time_zone="Asia/Seoul")
    CustomerFactory(shop=third)
    membership_set(shop=third, user=owner, role="agent")
    client.force_login(owner)
    response = client.get(admin_url("customer"))
    shop_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "field_path", "") == "shop"
    )
    assert sorted(label for _pk, label in shop_filter.lookup_choices) == ["Alpha Shoes", "Gamma Goods"]
    # asking for the other shop by filter value shows nothing of it
    response = client.get(admin_url("customer"), {"shop__id__exact": two_shops["their_customer"].shop_id})
    assert response.context["cl"].result_count == 0


def test_autocomplete_offers_only_own_shops_tags(client, owner, two_shops):
    client.force_login(owner)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "merchant", "model_name": "customer", "field_name": "tags", "term": "vip"},
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["vip-alpha"]


def test_related_dropdowns_offer_only_own_shops_rows(client, owner, other_owner, two_shops):
    client.force_login(owner)
    form = client.get(admin_url("customer", "add")).context["adminform"].form
    assert list(form.fields["shop"].queryset) == [two_shops["my_customer"].shop]
    assert list(form.fields["tags"].queryset) == [two_shops["my_tag"]]


def test_picking_another_shops_tag_by_id_is_refused(client, owner, shop, two_shops):
    client.force_login(owner)
    customer = two_shops["my_customer"]
    response = client.post(
        admin_url("customer", "change", customer.pk),
        customer_form_data(customer, tags=[two_shops["their_tag"].pk]),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["adminform"].form.errors["tags"])
    assert not customer.tags.exists()


def test_creating_a_row_in_another_shop_is_refused(client, owner, other_shop):
    client.force_login(owner)
    response = client.post(admin_url("product", "add"), {"shop": other_shop.pk, "title": "Sneaky"})
    assert response.status_code == 200
    assert "shop" in response.context["adminform"].form.errors
    assert not other_shop.products.exists()


def test_actions_do_not_reach_another_shops_orders(client, owner, two_shops):
    client.force_login(owner)
    their_order = two_shops["their_order"]
    client.post(admin_url("order"), {"action": "mark_paid", "_selected_action": [their_order.pk]})
    their_order.refresh_from_db()
    assert their_order.status == "pending_payment"
    assert not their_order.events.exists()


def test_superuser_sees_every_shop(client, superuser, two_shops):
    client.force_login(superuser)
    page = client.get(admin_url("customer")).content.decode()
    assert "ann@alpha.example" in page
    assert "bert@beta.example" in page


def test_member_of_two_shops_sees_both_and_nothing_else(client, shop, other_shop, agent, two_shops):
    from merchant.services import membership_set

    third = Merchant.objects.create(name="Gamma", slug="gamma", country="KR", time_zone="Asia/Seoul")
    CustomerFactory(shop=third, email="gil@gamma.example")
    membership_set(shop=other_shop, user=agent, role="agent")
    client.force_login(agent)
    page = client.get(admin_url("customer")).content.decode()
    assert "ann@alpha.example" in page
    assert "bert@beta.example" in page
    assert "gil@gamma.example" not in page


def customer_form_data(customer: Customer, **overrides) -> dict:
    data = {
        "shop": customer.shop_id,
        "external_id": customer.external_id or "",
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone.as_e164 if customer.phone else "",
        "country": customer.country.code if customer.country else "",
        "language": customer.language,
        "time_zone": customer.time_zone,
        "sms_marketing_consent_source": "",
        "email_marketing_consent_source": "",
        "tags": [],
    }
    data.update(overrides)
    return data


def test_tag_of_same_shop_is_saved(client, owner, two_shops):
    client.force_login(owner)
    customer = two_shops["my_customer"]
    response = client.post(
        admin_url("customer", "change", customer.pk), customer_form_data(customer, tags=[two_shops["my_tag"].pk])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(customer.tags.all()) == [Tag.objects.get(name="vip-alpha")]


def test_country_filter_offers_the_countries_of_own_customers_only(client, owner, shop, two_shops):
    CustomerFactory(shop=shop, country="KR")
    CustomerFactory(shop=two_shops["their_customer"].shop, country="RU")
    client.force_login(owner)
    response = client.get(admin_url("customer"))
    country_filter = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", "") == "country"
    )
    assert [code for code, _name in country_filter.lookup_choices] == ["KR", "US"]
    filtered = client.get(admin_url("customer"), {"country": "KR"})
    assert filtered.context["cl"].result_count == 1
