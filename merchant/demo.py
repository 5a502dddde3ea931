"""Lets other apps add their part to the demo shop of `manage.py seed_demo` without merchant importing them.

journeys registers the demo's approved holiday calendar, a greeting and a campaign draft. Each step runs
after the shop's customers and orders exist, creates only what is missing (seed_demo runs on every
`make run`) and returns how many rows it created, by name, which seed_demo prints as KEY=value; a step may
add a value to show instead of a count (journeys: the demo customer's order status link).
"""

from collections.abc import Callable

from merchant.models import Merchant

DemoStep = Callable[[Merchant], dict[str, int | str]]

_steps: list[DemoStep] = []


def register_demo_step(step: DemoStep) -> DemoStep:
    if step not in _steps:
        _steps.append(step)
    return step


def demo_steps_run(shop: Merchant) -> dict[str, int | str]:
    created: dict[str, int | str] = {}
    for step in list(_steps):
        created.update(step(shop))
    return created
