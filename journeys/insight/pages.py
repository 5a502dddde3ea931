"""The dashboard's pages: registered as admin pages, drawn in one frame (tabs, filter), tables as CSV.

A page's view builds its scope with `insight_scope_from_request`, reads figures through selectors, and
answers with `insight_render`, which serves `?csv=<table name>` as a download of that table with the
same filter, so every table on every page exports exactly what the person sees. A view hands its tables
as `LazyTable`s and its context as a function when they cost queries: a CSV download then builds only
the table asked for, and the page builds everything once.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.template.response import TemplateResponse

from journeys.insight.scope import InsightFilterForm, InsightScope
from journeys.insight.tables import LazyTable, Table, table_built, table_csv_response
from merchant.admin_site import AdminPage, admin_page_register


@dataclass(frozen=True)
class InsightPage:
    name: str  # URL name in the admin namespace, e.g. "insight_rules"
    title: str
    route: str  # under /admin/, e.g. "insight/rules/"
    view: Callable
    position: int  # order of the tabs
    is_index: bool = False  # the admin's landing page


_pages: dict[str, InsightPage] = {}


def insight_page_register(page: InsightPage) -> InsightPage:
    _pages[page.name] = page
    admin_page_register(AdminPage(route=page.route, view=page.view, name=page.name, is_index=page.is_index))
    return page


def insight_pages() -> list[InsightPage]:
    return sorted(_pages.values(), key=lambda page: page.position)


def insight_render(
    request,
    *,
    page: str,
    template: str,
    scope: InsightScope,
    form: InsightFilterForm,
    tables: Sequence[Table | LazyTable] = (),
    context: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    status: int | None = None,
):
    """The page, or with `?csv=<name>` the named table as CSV (404 for a name the page has not).

    For a CSV only the named table is built and `context`, when a function, is not called."""
    wanted = request.GET.get("csv")
    if wanted is not None:
        table = next((table for table in tables if table.name == wanted), None)
        built = table_built(table) if table is not None else None
        if built is None:
            raise Http404
        return table_csv_response(built, scope=scope)
    from django.contrib import admin

    if callable(context):
        context = context()
    built = [found for found in (table_built(table) for table in tables) if found is not None]

    query = request.GET.copy()
    query.pop("csv", None)
    this = _pages.get(page)
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "title": this.title if this else "",
            "insight_pages": insight_pages(),
            "insight_page": page,
            "scope": scope,
            "form": form,
            "tables": {table.name: table for table in built},
            "filter_query": query.urlencode(),
            **(context or {}),
        },
        status=status or (400 if form.is_bound and form.errors else 200),
    )
