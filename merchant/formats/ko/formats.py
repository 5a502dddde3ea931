"""Korean dates as people write them: "12월 6일 14:02" (day, then a 24-hour time, no comma), "2026년 12월"."""

MONTH_DAY_TIME_FORMAT = "n월 j일 H:i"
SHORT_MONTH_DAY_FORMAT = "n월 j일"
SHORT_YEAR_MONTH_FORMAT = "Y년 n월"
SHORT_DAY_FORMAT = "Y년 n월 j일"
