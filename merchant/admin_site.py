"""The admin site: Django's, with models grouped by what people do rather than by app.

Django lists models per app. An app registers an `AdminGroup` (from its admin modules) to show some
of its models, and pages of its own, as one section of the index and the sidebar, e.g. journeys'
"Campaigns & greetings". merchant imports no other app: the groups come to it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin
from django.urls import NoReverseMatch, URLPattern, path, reverse


@dataclass(frozen=True)
class AdminLink:
    """A page of the group that is not a model's list, shown to those who see `model`'s list."""

    name: str
    url_name: str  # e.g. "admin:journeys_approvedholiday_review"
    model: str  # "app_label.model_name" whose visibility the link follows
    after: str = ""  # "app_label.model_name" it is listed after (default: at the end)


@dataclass(frozen=True)
class AdminGroup:
    label: str  # a slug for the section's HTML class, e.g. "campaigns"
    name: str  # the section's title (a lazy translation is fine)
    models: tuple[str, ...]  # "app_label.model_name", in the order shown
    names: dict[str, str] = field(default_factory=dict)  # a model's name in this section, when not its plural
    links: tuple[AdminLink, ...] = field(default=())


_groups: list[AdminGroup] = []


def admin_group_register(group: AdminGroup) -> AdminGroup:
    """Show `group` as a section of its own; registering the same label again replaces it."""
    _groups[:] = [known for known in _groups if known.label != group.label]
    _groups.append(group)
    return group


@dataclass(frozen=True)
class AdminPage:
    """A page of the admin that belongs to no model, e.g. the dashboard's journey map (journeys.insight).

    Its view gets the request only after the admin checked the person is active staff; it scopes what
    it shows to their shops itself. The site's index is the page registered with `is_index`, when one is.
    """

    route: str  # under /admin/, e.g. "insight/rules/"
    view: Callable
    name: str  # its URL name in the admin namespace, e.g. "insight_rules"
    is_index: bool = False


_pages: dict[str, AdminPage] = {}


def admin_page_register(page: AdminPage) -> AdminPage:
    """Serve `page` under /admin/; registering the same name again replaces it."""
    _pages[page.name] = page
    return page


def _key(model_dict: dict) -> str:
    meta = model_dict["model"]._meta
    return f"{meta.app_label}.{meta.model_name}"


class MerchantAdminSite(admin.AdminSite):
    def get_urls(self) -> list[URLPattern]:
        pages = [path(page.route, self.admin_view(page.view), name=page.name) for page in _pages.values()]
        return pages + super().get_urls()

    def index(self, request, extra_context=None):
        landing = next((page for page in _pages.values() if page.is_index), None)
        if landing is None:
            return super().index(request, extra_context)
        return landing.view(request)

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        for group in _groups:
            taken = {}
            for app in app_list:
                for model_dict in list(app["models"]):
                    if _key(model_dict) in group.models:
                        taken[_key(model_dict)] = model_dict
                        app["models"].remove(model_dict)
            if not taken:
                continue
            models = [taken[name] for name in group.models if name in taken]
            for model_dict in models:
                model_dict["name"] = group.names.get(_key(model_dict), model_dict["name"])
            for link in group.links:
                if link.model not in taken:
                    continue
                try:
                    url = reverse(link.url_name, current_app=self.name)
                except NoReverseMatch:
                    continue
                entry = {
                    "model": taken[link.model]["model"],
                    "name": str(link.name),
                    "object_name": link.url_name.rpartition(":")[2],
                    "perms": {"view": True},
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                    "is_link": True,
                }
                after = [i for i, m in enumerate(models) if not m.get("is_link") and _key(m) == link.after]
                models.insert(after[0] + 1 if after else len(models), entry)
            app_list.append(
                {
                    "name": str(group.name),
                    "app_label": group.label,
                    "app_url": next((m["admin_url"] for m in models if m["admin_url"]), ""),
                    "has_module_perms": True,
                    "models": models,
                }
            )
        app_list = [app for app in app_list if app["models"]]
        return sorted(app_list, key=lambda app: str(app["name"]).lower())
