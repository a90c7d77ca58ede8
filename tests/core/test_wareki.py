import datetime as dt
import zoneinfo

import pytest

from genchi.core import wareki


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 4, 30), "平成31年4月30日"),
        (dt.date(2026, 4, 1), "令和8年4月1日"),
        (dt.date(1989, 1, 8), "平成元年1月8日"),
        (dt.date(1989, 1, 7), "昭和64年1月7日"),
        (dt.date(1926, 12, 25), "昭和元年12月25日"),
        (dt.date(1990, 12, 31), "平成2年12月31日"),
    ],
)
def test_format_date(day, text):
    assert wareki.format_date(day) == text


def test_before_showa_is_refused():
    with pytest.raises(wareki.WarekiError):
        wareki.format_date(dt.date(1926, 12, 24))


def test_weekday_and_fiscal_year():
    assert wareki.format_date(dt.date(2026, 4, 1), weekday=True) == "令和8年4月1日(水)"
    assert wareki.fiscal_year_label(2026) == "令和8年度"
    assert wareki.fiscal_year_label(2019) == "令和元年度"
    assert wareki.era_year(dt.date(2019, 5, 1)) == "令和元年"


def test_datetime_in_tokyo_time(settings):
    utc = dt.datetime(2026, 3, 31, 15, 5, 9, tzinfo=dt.UTC)  # 2026-04-01 00:05 in Tokyo
    assert wareki.format_datetime(utc) == "令和8年4月1日 0時05分"
    assert wareki.format_datetime(utc, seconds=True) == "令和8年4月1日 0時05分09秒"
    tokyo = dt.datetime(2019, 5, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert wareki.format_date(tokyo) == "令和元年5月1日"


@pytest.mark.parametrize(
    ("fy", "label"),
    [
        (1988, "昭和63年度"),
        (1989, "平成元年度"),
        (2018, "平成30年度"),
        (2019, "令和元年度"),
        (2020, "令和2年度"),
    ],
)
def test_fiscal_years_around_era_changes(fy, label):
    assert wareki.fiscal_year_label(fy) == label


@pytest.mark.parametrize(
    ("era", "year", "western"),
    [("令和", 5, 2023), ("R", 1, 2019), ("h", 30, 2018), ("平成", 1, 1989), ("S", 63, 1988)],
)
def test_era_years_back_to_western_years(era, year, western):
    assert wareki.gregorian_year(era, year) == western


def test_an_unknown_era_is_refused():
    with pytest.raises(wareki.WarekiError):
        wareki.gregorian_year("大正", 3)
