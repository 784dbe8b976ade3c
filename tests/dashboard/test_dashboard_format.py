"""Numbers people read on the dashboard: currency, thousands separators, one-decimal percentages, minus signs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from dashboard.templatetags.dashboard_format import (
    amount_class,
    bar_width,
    format_money,
    format_money_short,
    format_percent,
    money_abs,
    money_short,
    money_signed,
)

D = Decimal
MINUS = "\u2212"
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("14598934.25"), "$14,598,934.25"),
        (D("-350924.86"), f"{MINUS}$350,924.86"),
        (D("0"), "$0.00"),
        (D("0.005"), "$0.01"),  # half away from zero, like the split
        (D("-0.005"), f"{MINUS}$0.01"),
        ("1234.5", "$1,234.50"),
        (None, "—"),
    ],
)
def test_money_keeps_every_cent_groups_thousands_and_marks_negatives(value, text):
    assert format_money(value) == text


def test_signed_and_absolute_money_for_variances_and_sentences():
    assert money_signed(D("2151665.75")) == "+$2,151,665.75"
    assert money_signed(D("-12.00")) == f"{MINUS}$12.00"
    assert money_signed(D("0.00")) == "$0.00"
    assert money_abs(D("-764695.98")) == "$764,695.98"


def test_the_reporting_currency_decides_the_symbol_or_code(settings):
    settings.REPORTING_CURRENCY = "EUR"
    assert format_money(D("-1000")) == f"{MINUS}€1,000.00"
    settings.REPORTING_CURRENCY = "CHF"
    assert format_money(D("1000")) == f"CHF{NBSP}1,000.00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("48.36"), f"48.4{NBSP}%"),
        (D("48.35"), f"48.4{NBSP}%"),  # half up, not to even
        (D("48.25"), f"48.3{NBSP}%"),
        (D("100"), f"100.0{NBSP}%"),
        (D("-2.05"), f"{MINUS}2.1{NBSP}%"),
        (None, "—"),
    ],
)
def test_percentages_have_one_decimal(value, text):
    assert format_percent(value) == text


def test_negative_amounts_get_the_red_class_and_bars_stay_within_their_box():
    assert amount_class(D("-0.01")) == "amount-negative"
    assert amount_class(D("0")) == amount_class(None) == ""
    assert bar_width(D("121.1")) == "100.0"
    assert bar_width(D("-5")) == "0.0"
    assert bar_width(None) == "0"


def test_the_filters_work_in_templates():
    template = Template("{% load dashboard_format %}{{ a|money }} {{ b|percent }} <i class='{{ a|amount_class }}'>")

    assert template.render(Context({"a": D("-1500.5"), "b": D("62.55")})) == (
        f"{MINUS}$1,500.50 62.6{NBSP}% <i class='amount-negative'>"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("14908553.87"), f"$14.9{NBSP}M"),
        (D("-350924.86"), f"{MINUS}$350.9{NBSP}k"),
        (D("1234567890"), f"$1.2{NBSP}B"),
        (D("950.40"), "$950"),
        (D("999.49"), "$999"),
        (D("999.50"), f"$1.0{NBSP}k"),  # never "$1000"
        (D("999949"), f"$999.9{NBSP}k"),
        (D("999960"), f"$1.0{NBSP}M"),  # never "$1,000.0 k"
        (D("999950000"), f"$1.0{NBSP}B"),
        (D("-0.40"), "$0"),  # no minus before a rounded zero
        (None, "—"),
    ],
)
def test_headline_money_is_rounded_to_a_sensible_unit(value, text):
    assert format_money_short(value) == text


def test_headline_money_keeps_the_exact_amount_on_hover():
    html = money_short(D("14908553.87"))
    assert html == f'<span class="money-short" title="$14,908,553.87">$14.9{NBSP}M</span>'
    assert format_money_short(D("2151665.75"), signed=True) == f"+$2.2{NBSP}M"
