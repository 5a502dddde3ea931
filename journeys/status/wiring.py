"""What the order status page registers at start-up (from `JourneysConfig.ready()`); idempotent."""


def status_wire() -> None:
    """`{{ links.status }}` and `{{ status_update }}` for message copy, the status link on the order's admin page,
    the demo's part."""
    from django.utils.translation import gettext_lazy as _

    from journeys.context import link_register, value_register
    from journeys.status.demo import status_demo_seed
    from journeys.status.links import ORDER_STATUS_LINK, order_status_url
    from journeys.status.message_values import STATUS_UPDATE_VALUE
    from merchant import demo
    from merchant.order_page import OrderPageLink, order_page_link_register

    link_register(ORDER_STATUS_LINK)
    value_register(STATUS_UPDATE_VALUE)
    order_page_link_register(
        OrderPageLink(
            name="order_status",
            label=_("Customer's status page"),
            make=lambda order: order_status_url(order_id=order.pk, shop_id=order.shop_id),
            help_text=_(
                "What the customer sees from the link in their messages (a fresh link, valid for 180 days). "
                "Your own visits, while logged in here, are not counted as the customer's."
            ),
        )
    )
    demo.register_demo_step(status_demo_seed)
