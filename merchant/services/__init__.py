"""The only write path of the core app. Interfaces (admin, API, webhooks, commands, tasks) call these."""

from merchant.services.customers import (
    CUSTOMER_FIELDS,
    customer_create,
    customer_update,
    product_create,
    product_update,
    tag_create,
    tag_rename,
)
from merchant.services.orders import (
    IfNotAllowed,
    LineInput,
    order_cancel,
    order_create,
    order_mark_delivered,
    order_mark_paid,
    order_mark_shipped,
    order_note_add,
    order_refund_record,
    shipment_record_carrier_update,
)
from merchant.services.shops import (
    MERCHANT_EDITABLE_FIELDS,
    membership_remove,
    membership_set,
    merchant_create,
    merchant_defaults_complete,
    merchant_update,
    staff_user_get_or_create,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "MERCHANT_EDITABLE_FIELDS",
    "IfNotAllowed",
    "LineInput",
    "customer_create",
    "customer_update",
    "membership_remove",
    "membership_set",
    "merchant_create",
    "merchant_defaults_complete",
    "merchant_update",
    "order_cancel",
    "order_create",
    "order_mark_delivered",
    "order_mark_paid",
    "order_mark_shipped",
    "order_note_add",
    "order_refund_record",
    "product_create",
    "product_update",
    "shipment_record_carrier_update",
    "staff_user_get_or_create",
    "tag_create",
    "tag_rename",
]
