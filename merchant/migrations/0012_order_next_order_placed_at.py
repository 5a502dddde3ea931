"""Orders learn when the same customer next placed an order that was not cancelled (the dashboard's "bought
again"), kept from now on by merchant.services.orders_next_order_refresh; the existing orders are filled in here
with the same one UPDATE."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    order_model = apps.get_model("merchant", "Order")
    next_order = order_model.objects.filter(
        customer_id=OuterRef("customer_id"), placed_at__gt=OuterRef("placed_at"), cancelled_at__isnull=True
    ).order_by("placed_at")
    order_model.objects.filter(customer_id__isnull=False).update(
        next_order_placed_at=Subquery(next_order.values("placed_at")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("merchant", "0011_order_repeat_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="next_order_placed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the same customer next placed an order that was not cancelled; empty: not yet.",
                null=True,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
