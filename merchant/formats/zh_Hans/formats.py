"""Simplified Chinese dates as people write them: "12月6日 14:02", "9月5日" (not Django's "09月5日"), with no
comma between the day and the time."""

MONTH_DAY_FORMAT = "n月j日"
MONTH_DAY_TIME_FORMAT = "n月j日 H:i"
SHORT_MONTH_DAY_FORMAT = "n月j日"
SHORT_YEAR_MONTH_FORMAT = "Y年n月"
SHORT_DAY_FORMAT = "Y年n月j日"
