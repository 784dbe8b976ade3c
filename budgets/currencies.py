"""ISO 4217 currency codes an expense may be recorded in.

A static list rather than a dependency: the codes of currencies in circulation
(ISO 4217 list one, amendments up to 2025). Fund codes (BOV, CLF, USN, …),
precious metals (XAU, XAG, …), SDR, test and "no currency" codes are left out:
nobody pays a vendor in them. Update this list when ISO publishes an amendment.
"""

from __future__ import annotations

ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
    SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
    UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 - a grid of codes reads better than a 160-item list literal
)


def is_iso_4217(code: str) -> bool:
    """True for the code of a currency in circulation (upper case, three letters)."""
    return code in ISO_4217_CODES


def currency_choices() -> list[tuple[str, str]]:
    """(code, code) pairs, sorted, for form selects."""
    return [(code, code) for code in sorted(ISO_4217_CODES)]


def currency_error(code: str) -> str | None:
    """Why `code` cannot be an expense's or a rate's currency, or None (the one message of the forms,
    the API and the services)."""
    return None if is_iso_4217(code) else f"'{code}' is not an ISO 4217 currency code."


def validate_currency(code: str) -> None:
    """`currency_error` as a serializer or form field validator (codes are read in any case)."""
    from django.core.exceptions import ValidationError

    if message := currency_error(code.strip().upper()):
        raise ValidationError(message, code="currency")
