"""PostgreSQL: tell the planner how few (rule, channel, language, status, reason) groups the outbox has.

It multiplies the columns' distinct counts otherwise (hundreds of thousands of groups instead of a few
thousand), plans the rule performance page's grouping for spilling to disk and without parallel workers,
and a year of a busy shop's messages takes half as long again. SQLite has no such statistics.
"""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS journeys_message_groups (ndistinct) "
    "ON rule_id, channel, language, status, reason FROM journeys_message"
)
DROP = "DROP STATISTICS IF EXISTS journeys_message_groups"


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("journeys", "0008_dashboard")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
