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


def row_update(row: Row, *, fields: dict[str, Any], allowed: Iterable[str]) -> Row:
    """Set `fields` on `row`, validate the whole row, save. Nothing is saved when a field is bad."""
    fields_check_allowed(fields, allowed)
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row
