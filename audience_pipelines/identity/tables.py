"""Lookup tables the normalizers use: US states, country names and codes, month names, genders."""

from __future__ import annotations

from types import MappingProxyType

import phonenumbers

#: US state (and DC / territory) names -> USPS code, keyed by lowercase words separated by one space.
US_STATES = MappingProxyType(
    {
        "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
        "colorado": "co", "connecticut": "ct", "delaware": "de", "district of columbia": "dc",
        "washington dc": "dc", "washington d c": "dc", "florida": "fl", "georgia": "ga", "hawaii": "hi",
        "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky",
        "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi",
        "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne",
        "nevada": "nv", "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm", "new york": "ny",
        "north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or",
        "pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
        "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va",
        "washington": "wa", "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy",
        "american samoa": "as", "guam": "gu", "northern mariana islands": "mp", "puerto rico": "pr",
        "us virgin islands": "vi", "u s virgin islands": "vi",
    }
)  # fmt: skip

#: ISO 3166-1 alpha-2 codes, lowercase: phonenumbers' regions without its non-ISO AC and TA (XK, in wide use
#: for Kosovo, is kept), plus the ISO territories that have no numbering plan of their own.
ISO_COUNTRIES = frozenset(
    {code.lower() for code in phonenumbers.SUPPORTED_REGIONS} - {"ac", "ta"}
    | {"aq", "bv", "gs", "hm", "pn", "tf", "um"}
)

#: Country names and alpha-3 codes -> alpha-2, keyed by lowercase words separated by one space (the
#: normalizer also tries the key with the spaces removed, so "U.S.A." and "u s a" find "usa").
COUNTRY_ALIASES = MappingProxyType(
    {
        "usa": "us", "united states": "us", "united states of america": "us", "america": "us",
        "uk": "gb", "gbr": "gb", "united kingdom": "gb", "great britain": "gb", "britain": "gb",
        "england": "gb", "scotland": "gb", "wales": "gb", "northern ireland": "gb",
        "can": "ca", "canada": "ca", "aus": "au", "australia": "au", "nzl": "nz", "new zealand": "nz",
        "irl": "ie", "ireland": "ie", "deu": "de", "germany": "de", "deutschland": "de",
        "fra": "fr", "france": "fr", "esp": "es", "spain": "es", "españa": "es", "espana": "es",
        "ita": "it", "italy": "it", "italia": "it", "nld": "nl", "netherlands": "nl",
        "the netherlands": "nl", "holland": "nl", "bel": "be", "belgium": "be", "che": "ch",
        "switzerland": "ch", "aut": "at", "austria": "at", "österreich": "at", "swe": "se", "sweden": "se",
        "nor": "no", "norway": "no", "dnk": "dk", "denmark": "dk", "fin": "fi", "finland": "fi",
        "pol": "pl", "poland": "pl", "prt": "pt", "portugal": "pt", "bra": "br", "brazil": "br",
        "brasil": "br", "mex": "mx", "mexico": "mx", "méxico": "mx", "arg": "ar", "argentina": "ar",
        "ind": "in", "india": "in", "jpn": "jp", "japan": "jp", "chn": "cn", "china": "cn",
        "kor": "kr", "south korea": "kr", "korea": "kr", "sgp": "sg", "singapore": "sg",
        "zaf": "za", "south africa": "za", "are": "ae", "uae": "ae", "united arab emirates": "ae",
        "isr": "il", "israel": "il", "tur": "tr", "turkey": "tr", "türkiye": "tr",
        "ac": "sh", "ta": "sh",
    }
)  # fmt: skip

#: Country-column words that mean "no country" (keys as ``text.words`` writes them: "N.A." is ``n a``).
NOT_COUNTRIES = frozenset(
    {"n a", "unknown", "unk", "other", "none", "not applicable", "not available", "not specified", "unspecified",
     "no country", "xx", "zz"}
)  # fmt: skip

#: Month names and abbreviations (English) -> two-digit month.
MONTHS = MappingProxyType(
    {
        name: f"{number:02d}"
        for number, names in enumerate(
            [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
             ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
             ("oct", "october"), ("nov", "november"), ("dec", "december")],
            start=1,
        )
        for name in names
    }
)  # fmt: skip

#: Gender words -> Meta's ``m`` / ``f`` (the words Segment's Meta normalizer accepts).
GENDERS = MappingProxyType(
    {"m": "m", "male": "m", "man": "m", "boy": "m", "f": "f", "female": "f", "woman": "f", "girl": "f"}
)
