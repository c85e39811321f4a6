"""Reference data for the demo generator: names and places with reserved/fictional contact ranges.

Everything here is fake: e-mail domains are the RFC 2606 ``example.*`` domains, US/CA phone numbers use the
NANP fictional ``555-01xx`` block, UK numbers the Ofcom drama ranges, German and French numbers the ranges
their regulators reserve for film and TV.
"""

from __future__ import annotations

from dataclasses import dataclass

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Elizabeth", "Sofia", "Madison", "Avery", "Ella", "Scarlett", "Grace", "Chloe",
    "Victoria", "Riley", "Aria", "Lily", "Zoey", "Hannah", "Layla", "Nora", "Maria", "Priya",
    "Mei", "Fatima", "Ana", "Lucia", "Hana", "Chiara", "Lea", "Clara", "Ingrid", "Sarah",
    "Jessica", "Ashley", "Jennifer", "Amanda", "Laura", "Nicole", "Rachel", "Megan", "Julia", "Anne-Marie",
)  # fmt: skip

MALE_FIRST_NAMES: tuple[str, ...] = (
    "Liam", "Noah", "William", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason", "Logan",
    "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson", "Sebastian", "Aiden", "Matthew",
    "Samuel", "David", "Joseph", "Carter", "Owen", "Wyatt", "John", "Jack", "Luke", "Jayden",
    "Raj", "Wei", "Omar", "Diego", "Mateo", "Kenji", "Luca", "Jonas", "Pierre", "Lars",
    "Robert", "Thomas", "Christopher", "Andrew", "Kevin", "Brian", "Ryan", "Jason", "Eric", "Jean-Luc",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Patel", "Kim", "Chen", "Singh", "Mueller", "Schmidt", "Schneider", "Fischer", "Dubois", "Bernard",
    "Moreau", "O'Brien", "McDonald", "Smith-Jones", "Van der Berg", "Rossi", "Ferrari", "Kowalski", "Novak",
    "Tanaka",
)  # fmt: skip

COUNTRY_WEIGHTS: dict[str, float] = {"US": 0.78, "GB": 0.08, "CA": 0.06, "DE": 0.05, "FR": 0.03}


@dataclass(frozen=True)
class Place:
    """A city with the pieces needed to fake an address and a phone number there.

    ``postal`` is the postcode stem (US zip prefix, UK area letters, Canadian FSA letter, German/French
    leading digits); ``area``/``local`` are the dialling area code and the reserved subscriber prefix.
    """

    country: str
    city: str
    state_code: str | None
    state_name: str | None
    postal: str
    area: str
    local: str
    weight: float


PLACES: tuple[Place, ...] = (
    Place("US", "New York", "NY", "New York", "100", "212", "", 8),
    Place("US", "Brooklyn", "NY", "New York", "112", "718", "", 5),
    Place("US", "Los Angeles", "CA", "California", "900", "213", "", 7),
    Place("US", "San Francisco", "CA", "California", "941", "415", "", 4),
    Place("US", "San Jose", "CA", "California", "951", "408", "", 2),
    Place("US", "San Diego", "CA", "California", "921", "619", "", 3),
    Place("US", "Chicago", "IL", "Illinois", "606", "312", "", 6),
    Place("US", "Houston", "TX", "Texas", "770", "713", "", 5),
    Place("US", "Austin", "TX", "Texas", "787", "512", "", 3),
    Place("US", "Dallas", "TX", "Texas", "752", "214", "", 4),
    Place("US", "Phoenix", "AZ", "Arizona", "850", "602", "", 4),
    Place("US", "Philadelphia", "PA", "Pennsylvania", "191", "215", "", 4),
    Place("US", "Seattle", "WA", "Washington", "981", "206", "", 3),
    Place("US", "Denver", "CO", "Colorado", "802", "303", "", 3),
    Place("US", "Boston", "MA", "Massachusetts", "021", "617", "", 3),
    Place("US", "Atlanta", "GA", "Georgia", "303", "404", "", 3),
    Place("US", "Miami", "FL", "Florida", "331", "305", "", 3),
    Place("US", "Orlando", "FL", "Florida", "328", "407", "", 2),
    Place("US", "Portland", "OR", "Oregon", "972", "503", "", 2),
    Place("US", "Minneapolis", "MN", "Minnesota", "554", "612", "", 2),
    Place("US", "Nashville", "TN", "Tennessee", "372", "615", "", 2),
    Place("US", "Charlotte", "NC", "North Carolina", "282", "704", "", 2),
    Place("US", "Detroit", "MI", "Michigan", "482", "313", "", 2),
    Place("US", "Columbus", "OH", "Ohio", "432", "614", "", 2),
    Place("US", "Las Vegas", "NV", "Nevada", "891", "702", "", 2),
    Place("US", "Salt Lake City", "UT", "Utah", "841", "801", "", 1),
    Place("US", "Kansas City", "MO", "Missouri", "641", "816", "", 1),
    Place("US", "Washington", "DC", "District of Columbia", "200", "202", "", 2),
    Place("GB", "London", None, "England", "SW", "20", "7946 0", 8),
    Place("GB", "Manchester", None, "England", "M", "161", "496 0", 2),
    Place("GB", "Birmingham", None, "England", "B", "121", "496 0", 2),
    Place("GB", "Leeds", None, "England", "LS", "113", "496 0", 1),
    Place("GB", "Bristol", None, "England", "BS", "117", "496 0", 1),
    Place("GB", "Glasgow", None, "Scotland", "G", "141", "496 0", 1),
    Place("CA", "Toronto", "ON", "Ontario", "M", "416", "", 4),
    Place("CA", "Montreal", "QC", "Quebec", "H", "514", "", 3),
    Place("CA", "Vancouver", "BC", "British Columbia", "V", "604", "", 2),
    Place("CA", "Calgary", "AB", "Alberta", "T", "403", "", 1),
    Place("CA", "Ottawa", "ON", "Ontario", "K", "613", "", 1),
    Place("DE", "Berlin", "BE", "Berlin", "10", "30", "23125", 4),
    Place("DE", "Hamburg", "HH", "Hamburg", "20", "40", "66969", 2),
    Place("DE", "München", "BY", "Bayern", "80", "89", "99998", 2),
    Place("DE", "Frankfurt am Main", "HE", "Hessen", "60", "69", "90009", 1),
    Place("FR", "Paris", None, "Île-de-France", "750", "1", "99 00", 4),
    Place("FR", "Lyon", None, "Auvergne-Rhône-Alpes", "690", "4", "65 71", 1),
    Place("FR", "Marseille", None, "Provence-Alpes-Côte d'Azur", "130", "4", "65 71", 1),
    Place("FR", "Bordeaux", None, "Nouvelle-Aquitaine", "330", "5", "36 49", 1),
)


def place_thresholds() -> list[float]:
    """Cumulative lower bounds (one per place, starting at 0) for picking a place with ``width_bucket``."""
    totals: dict[str, float] = {}
    for place in PLACES:
        totals[place.country] = totals.get(place.country, 0.0) + place.weight
    bounds: list[float] = []
    cumulative = 0.0
    for place in PLACES:
        bounds.append(round(cumulative, 9))
        cumulative += COUNTRY_WEIGHTS[place.country] * place.weight / totals[place.country]
    return bounds


def email_slug(name: str) -> str:
    """The lowercase ASCII letters of a name, as used in e-mail local parts."""
    return "".join(ch for ch in name.lower() if "a" <= ch <= "z")
