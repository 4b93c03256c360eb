"""Canonical vocabularies: every accepted raw spelling and the canonical value it maps to.

Lookups happen after trimming and case-folding the raw value, so keys here are
lower case. Each table is the one place its vocabulary lives; the README lists them.
"""

from __future__ import annotations

# ISO 3166-1 alpha-2: every officially assigned code is accepted as itself.
ISO_COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

# Names and common aliases seen in the feeds (lower case) -> ISO 3166-1 alpha-2.
COUNTRY_ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US",
    "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "united kingdom": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB",
    "germany": "DE", "deutschland": "DE",
    "france": "FR",
    "india": "IN", "bharat": "IN",
    "canada": "CA",
    "australia": "AU",
    "brazil": "BR", "brasil": "BR",
    "japan": "JP", "nippon": "JP",
    "namibia": "NA",
    "spain": "ES", "espana": "ES", "españa": "ES",
    "italy": "IT", "italia": "IT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL",
    "mexico": "MX", "méxico": "MX",
    "ireland": "IE",
    "sweden": "SE",
    "switzerland": "CH",
    "china": "CN",
    "south korea": "KR", "korea": "KR",
    "singapore": "SG",
    "south africa": "ZA",
    "new zealand": "NZ",
}

COUNTRY = {code.lower(): code for code in ISO_COUNTRY_CODES} | COUNTRY_ALIASES

PLATFORM = {
    "ios": "ios", "iphone": "ios", "ipad": "ios", "iphone os": "ios", "apple": "ios",
    "android": "android", "and": "android", "andriod": "android", "android app": "android",
    "web": "web", "browser": "web", "desktop": "web", "www": "web", "webapp": "web",
    "web app": "web", "website": "web", "mobile web": "web",
}

CURRENCY = {
    "usd": "USD", "$": "USD", "us$": "USD", "dollar": "USD", "dollars": "USD",
    "eur": "EUR", "€": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "£": "GBP", "pound": "GBP", "pounds": "GBP",
    "inr": "INR", "₹": "INR", "rs": "INR", "rupee": "INR", "rupees": "INR",
    "jpy": "JPY", "¥": "JPY", "yen": "JPY",
    "cad": "CAD", "c$": "CAD", "ca$": "CAD",
    "aud": "AUD", "a$": "AUD", "au$": "AUD",
    "chf": "CHF",
    "brl": "BRL", "r$": "BRL",
    "mxn": "MXN",
}

ORDER_STATUS = {
    "paid": "paid", "succeeded": "paid", "success": "paid", "successful": "paid",
    "completed": "paid", "complete": "paid", "captured": "paid", "settled": "paid",
    "failed": "failed", "failure": "failed", "fail": "failed", "declined": "failed",
    "error": "failed",
    "refunded": "refunded", "refund": "refunded",
    "chargeback": "chargeback", "charged_back": "chargeback", "charge_back": "chargeback",
    "charge back": "chargeback", "charged back": "chargeback", "disputed": "chargeback",
}

CUSTOMER_STATUS = {
    "active": "active", "actve": "active", "activ": "active", "acitve": "active",
    "enabled": "active",
    "inactive": "inactive", "inactve": "inactive", "in-active": "inactive",
    "in active": "inactive", "disabled": "inactive", "dormant": "inactive",
    "banned": "banned", "baned": "banned", "blocked": "banned", "suspended": "banned",
}

# Event types are first folded to lower snake case (camelCase, spaces and hyphens
# become underscores); the folded value must be one of these keys.
EVENT_TYPE = {
    "page_view": "page_view", "pageview": "page_view", "view": "page_view",
    "product_view": "product_view", "productview": "product_view",
    "search": "search",
    "add_to_cart": "add_to_cart", "addtocart": "add_to_cart", "add_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart", "removefromcart": "remove_from_cart",
    "checkout": "checkout", "checkout_start": "checkout", "begin_checkout": "checkout",
    "purchase": "purchase", "buy": "purchase",
    "login": "login", "log_in": "login", "sign_in": "login", "signin": "login",
    "logout": "logout", "log_out": "logout", "sign_out": "logout", "signout": "logout",
    "signup": "signup", "sign_up": "signup", "register": "signup",
}


def canonical_values(table: dict[str, str]) -> list[str]:
    """The sorted canonical vocabulary of a table (what clean data may contain)."""
    return sorted(set(table.values()))
