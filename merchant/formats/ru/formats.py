"""Russian date formats that differ from Django's: a day and month read "2 марта", not "2 Март".

Django's Russian MONTH_DAY_FORMAT is "j F", the month in the nominative case; after a day number Russian
takes the genitive, which is Django's "E". Customer pages and messages (the order status page, its update
message) show such dates.
"""

MONTH_DAY_FORMAT = "j E"
