"""What shop platforms send, read into plain snapshots the services apply.

Each platform module turns a webhook body (a dict parsed from JSON) into the dataclasses of
`snapshots`; nothing here touches the database.
"""
