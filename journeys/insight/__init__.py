"""The owner's dashboard: the journey map, rule performance and the voice of the customer.

Every page is an admin page (merchant.admin_site.AdminPage) that reads through selectors given an
`InsightScope`: the shops the person belongs to (or one of them), a period and the zone its days
are counted in. Figures are aggregated in the database; pages draw them as server-side SVG
(`charts`) and tables any of which downloads as CSV (`tables`).

journeys knows orders and messages. What only reviews and returns know (a review written, a referral,
return and dispute reasons) they add through the registries of this package from their
`AppConfig.ready()`; journeys never imports them (DESIGN.md §2).
"""
