"""Writing a shop's consent settings: which triggers are marketing in which country, and its contact budget."""

from journeys.models import ContactBudget, CountryMessageClass


def country_message_class_save(*, row: CountryMessageClass) -> CountryMessageClass:
    """Create or change one country's class for a trigger. Planned messages keep the class they were planned with."""
    row.full_clean()
    row.save()
    return row


def contact_budget_save(*, budget: ContactBudget) -> ContactBudget:
    """Create or change a shop's contact budget; it applies to the next marketing message planned or sent."""
    budget.full_clean()
    budget.save()
    return budget
