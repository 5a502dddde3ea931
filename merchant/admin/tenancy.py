"""Per-shop admin: every list, form, filter, autocomplete and dropdown shows only the shops a
person belongs to, and an object of another shop answers 404.

What each role may do is declared per admin as data (`role_permissions`); superusers may do
everything Django allows them.
"""

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import Http404
from django_countries import countries

from merchant.models import Membership, Merchant
from merchant.selectors import user_shop_roles

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
Role = Membership.Role


def shop_scoped_queryset(model: type[models.Model], shop_ids: list[int]) -> models.QuerySet | None:
    """`model`'s rows in the given shops, or None when the model does not belong to a shop."""
    if model is Merchant:
        return Merchant.objects.filter(pk__in=shop_ids)
    field_names = {field.name for field in model._meta.get_fields()}
    if "shop" in field_names:
        return model._default_manager.filter(shop__in=shop_ids)
    if "order" in field_names:
        return model._default_manager.filter(order__shop__in=shop_ids)
    return None


class ShopScopedMixin:
    """For ModelAdmin and inlines. `shop_path` is the lookup from the model to its Merchant."""

    shop_path = "shop"
    role_permissions: dict[str, frozenset[str]] = {}

    # --- which rows ---------------------------------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = "pk__in" if self.shop_path == "pk" else f"{self.shop_path}__in"
        return queryset.filter(**{lookup: list(user_shop_roles(request.user))})

    def shop_id_of(self, obj: Any) -> int | None:
        if self.shop_path == "pk":
            return obj.pk
        *path, last = self.shop_path.split("__")
        for name in path:
            obj = getattr(obj, name)
        return getattr(obj, f"{last}_id")

    # --- what a role may do ---------------------------------------------------------------------
    def _role_allows(self, request, action: str, obj: Any = None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        roles = user_shop_roles(user)
        if obj is not None and obj.pk is not None:
            role = roles.get(self.shop_id_of(obj))
            return role is not None and action in self.role_permissions.get(role, ())
        return any(action in self.role_permissions.get(role, ()) for role in roles.values())

    def shop_ids_allowing(self, request, action: str) -> list[int]:
        if request.user.is_superuser:
            return list(Merchant.objects.values_list("pk", flat=True))
        return [
            shop_id
            for shop_id, role in user_shop_roles(request.user).items()
            if action in self.role_permissions.get(role, ())
        ]

    def has_module_permission(self, request):
        return request.user.is_superuser or self._role_allows(request, VIEW)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._role_allows(request, VIEW, obj) or self._role_allows(request, CHANGE, obj)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._role_allows(request, CHANGE, obj)

    def has_add_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        # For inlines `obj` is the parent: adding a child is changing the parent's shop data.
        return self._role_allows(request, ADD, obj if isinstance(self, admin.options.InlineModelAdmin) else None)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._role_allows(request, DELETE, obj)

    # --- which choices --------------------------------------------------------------------------
    def _scope_related(self, request, model, kwargs: dict) -> None:
        if request.user.is_superuser or "queryset" in kwargs:
            return
        if model is Merchant:
            # A shop picker offers only the shops where this person may create this kind of row.
            kwargs["queryset"] = Merchant.objects.filter(pk__in=self.shop_ids_allowing(request, ADD))
            return
        scoped = shop_scoped_queryset(model, list(user_shop_roles(request.user)))
        if scoped is not None:
            kwargs["queryset"] = scoped

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope_related(request, db_field.related_model, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope_related(request, db_field.related_model, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ShopScopedAdmin(ShopScopedMixin, admin.ModelAdmin):
    def get_object(self, request, object_id, from_field=None):
        # Another shop's id (or one that never existed) is "not found", never "forbidden".
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object in your shops.")
        return obj

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # A row never moves to another shop.
        if obj is not None and self.shop_path == "shop" and "shop" not in readonly:
            readonly.append("shop")
        return readonly

    def get_list_display(self, request):
        # A person with one shop does not need a column repeating its name.
        display = super().get_list_display(request)
        if "shop" in display and not request.user.is_superuser and len(user_shop_roles(request.user)) == 1:
            return tuple(column for column in display if column != "shop")
        return display

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        shop_ids = self.shop_ids_allowing(request, ADD)
        if self.shop_path == "shop" and len(shop_ids) == 1:
            initial.setdefault("shop", shop_ids[0])
        return initial


class ParentShopMixin(ShopScopedMixin):
    """For inlines: their permission checks receive the parent row, which carries its shop."""

    def shop_id_of(self, obj):
        return obj.shop_id if hasattr(obj, "shop_id") else super().shop_id_of(obj)


class ReadOnlyInline(ParentShopMixin, admin.TabularInline):
    """Rows shown with their parent and never edited there (history, lines, photos). Subclasses set
    `role_permissions` and `shop_path`."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ShopListFilter(admin.RelatedOnlyFieldListFilter):
    """Offers only the shops that appear in the (already scoped) list."""


class PresentCountryFilter(admin.SimpleListFilter):
    """Offers the countries the listed rows are in, not all 250 of them."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = (
            model_admin.get_queryset(request)
            .exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        return sorted(((code, countries.name(code) or code) for code in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset
