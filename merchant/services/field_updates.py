"""Changing plain fields of a row: only the fields a service allows, validated, then saved."""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

Row = TypeVar("Row", bound=models.Model)


def fields_check_allowed(fields: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))


def row_validate(row: models.Model) -> None:
    """Check a row's own values (types, lengths, choices, validators) before it is saved.

    Relations are objects the service already holds, and constraints (unique ids, checks) are
    enforced by the database when the row is saved: checking them here costs a query each on
    every write of the hot ingestion path. Forms in the admin still check constraints themselves.
    """
    relations = [field.name for field in row._meta.concrete_fields if field.is_relation]
    row.full_clean(exclude=relations, validate_constraints=False)


def row_update(row: Row, *, fields: dict[str, Any], allowed: Iterable[str]) -> Row:
    """Set `fields` on `row`, validate the row, save. Nothing is saved when a field is bad."""
    fields_check_allowed(fields, allowed)
    for name, value in fields.items():
        setattr(row, name, value)
    row_validate(row)
    row.save()
    return row
