"""Message templates: checked when saved, rendered when sent.

Templates are Django template syntax over the fixed context of `journeys.context`. They run in
their own engine without template directories or tag libraries, so a template cannot include
files or load custom tags. Validation refuses syntax errors and names the template does not
know, with the line, before anything is saved.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, Template, Variable
from django.template.defaulttags import ForNode, IfNode, TemplateLiteral, WithNode
from django.utils import timezone, translation
from django.utils.html import linebreaks, urlize

from journeys.context import context_names

_ENGINE_OPTIONS = {"dirs": [], "app_dirs": False, "libraries": {}, "debug": True, "string_if_invalid": ""}
TEXT_ENGINE = Engine(autoescape=False, **_ENGINE_OPTIONS)
HTML_ENGINE = Engine(autoescape=True, **_ENGINE_OPTIONS)


@dataclass(frozen=True)
class TemplateProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


def template_problems(source: str, *, html: bool = False) -> list[TemplateProblem]:
    """What is wrong with a template: a syntax error, or each name it uses that is not in the context."""
    try:
        template = (HTML_ENGINE if html else TEXT_ENGINE).from_string(source)
    except TemplateSyntaxError as error:
        debug = getattr(error, "template_debug", None) or {}
        return [TemplateProblem(debug.get("line"), str(error))]
    return list(_unknown_names(template.nodelist, _known_scope()))


def _known_scope() -> dict[str, Any]:
    scope = context_names()
    scope["forloop"] = {"counter", "counter0", "revcounter", "revcounter0", "first", "last", "parentloop"}
    return scope


def _unknown_names(nodelist: Iterable[Node], scope: dict[str, Any]) -> Iterable[TemplateProblem]:
    for node in nodelist:
        line = getattr(getattr(node, "token", None), "lineno", None)
        if isinstance(node, IfNode):
            for condition, child in node.conditions_nodelists:
                yield from _expressions_in(condition, scope, line)
                yield from _unknown_names(child, scope)
            continue
        child_scope = scope
        if isinstance(node, ForNode):
            yield from _check_expression(node.sequence, scope, line)
            element = scope.get(_root(node.sequence))
            child_scope = {**scope, **{name: element if len(node.loopvars) == 1 else None for name in node.loopvars}}
        elif isinstance(node, WithNode):
            for expression in node.extra_context.values():
                yield from _check_expression(expression, scope, line)
            child_scope = {**scope, **dict.fromkeys(node.extra_context)}
        else:
            for value in vars(node).values():
                yield from _expressions_in(value, scope, line)
        for attribute in getattr(node, "child_nodelists", ()):
            child = getattr(node, attribute, None)
            if child:
                yield from _unknown_names(child, child_scope)


def _expressions_in(value: Any, scope: dict[str, Any], line: int | None) -> Iterable[TemplateProblem]:
    if isinstance(value, FilterExpression):
        yield from _check_expression(value, scope, line)
    elif isinstance(value, TemplateLiteral):
        yield from _check_expression(value.value, scope, line)
    elif hasattr(value, "first") and hasattr(value, "id"):  # a parsed {% if %} operator
        for part in (getattr(value, "first", None), getattr(value, "second", None)):
            if part is not None:
                yield from _expressions_in(part, scope, line)
    elif isinstance(value, list | tuple) and not isinstance(value, NodeList):
        for item in value:
            yield from _expressions_in(item, scope, line)


def _root(expression: FilterExpression) -> str | None:
    variable = expression.var
    return variable.lookups[0] if isinstance(variable, Variable) and variable.lookups else None


def _check_expression(expression: Any, scope: dict[str, Any], line: int | None) -> Iterable[TemplateProblem]:
    if not isinstance(expression, FilterExpression):
        return
    variables = [expression.var] + [
        argument for _func, arguments in expression.filters for _lookup, argument in arguments
    ]
    for variable in variables:
        if not isinstance(variable, Variable) or variable.lookups is None:
            continue  # a literal: "text", 3
        lookups = variable.lookups
        root = lookups[0]
        if root not in scope:
            yield TemplateProblem(line, f"unknown variable “{'.'.join(lookups)}”. Known: {_known_list(scope)}.")
            continue
        attributes = scope[root]
        checkable = len(lookups) > 1 and isinstance(attributes, set) and not lookups[1].isdigit()
        if checkable and lookups[1] not in attributes:
            known = ", ".join(f"{root}.{name}" for name in sorted(attributes)) or "none"
            yield TemplateProblem(line, f"unknown variable “{'.'.join(lookups)}”. Known: {known}.")


def _known_list(scope: dict[str, Any]) -> str:
    return ", ".join(sorted(name for name in scope if name != "forloop"))


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    return (HTML_ENGINE if html else TEXT_ENGINE).from_string(source)


def template_render(source: str, context: dict[str, Any], *, language: str, time_zone: str, html: bool = False) -> str:
    """Render in the customer's language and time zone (dates print in their local time)."""
    with translation.override(language), timezone.override(time_zone):
        return _compiled(source, html).render(Context(context, autoescape=html)).strip()


def html_from_text(text: str) -> str:
    """An HTML body for an email whose template has only text: paragraphs, clickable links."""
    # urlize escapes the text; linebreaks must then not escape it again.
    return linebreaks(urlize(text, autoescape=True), autoescape=False)
