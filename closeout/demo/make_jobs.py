"""Write the demo company's job CSVs (closeout/demo/jobs/): three November weeks of Northwind Climate & AV.

Deterministic: the same files every run. ``python closeout/demo/make_jobs.py`` rewrites them. Most jobs are
clean; the positions in ``SPECIALS`` each trip exactly one rule, mapping or source check (see docs/csv-format.md
and tests/mappings/test_demo_jobs.py for the expected outcome of every one).
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

COLUMNS = (
    "job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,site_city,site_region,"
    "site_postal_code,site_country,job_type,priority,status,"
    "completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,unit_price,unit_cost,"
    "taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,po_number,currency,billing,"
    "photos_before,photos_after,tax"
).split(",")
SALES_TAX = {("MN", "Minneapolis"): Decimal("0.08025"), ("MN", "St. Paul"): Decimal("0.07875"),
             ("MN", ""): Decimal("0.06875")}
"""The sales tax the demo's own system charged, by where the work was done: the rates the ledger sandbox's
Automated Sales Tax table has for these places (sandbox/qbo_tax.py), so the two agree but for one job."""
TAX_DIFFERS = 3
"""The job whose system still charged last year's rate: the ledger's tax differs, and a tax_mismatch case opens."""
CREWS = {
    "A": ("Crew A — Dana Ruiz", ("Dana Ruiz", "Marco Diaz")),
    "B": ("Crew B — Sam Okafor", ("Sam Okafor", "Tess Whitfield")),
    "C": ("Crew C — Lee Nakamura", ("Lee Nakamura", "Ana Kowalski")),
}
CUSTOMERS = (  # id, name, email, site, address, contact, PO prefix
    ("C-1001", "Lakeside Family Dental", "office@lakesidedental.example",
     "Lakeside Family Dental", "4120 Lake St, Minneapolis, MN 55408", "Priya Shah", ""),
    ("C-1002", "Harbor Point Apartments", "manager@harborpoint.example",
     "Harbor Point — Building B", "88 Harbor Point Dr, St. Paul, MN 55107", "Luis Ortega", "HP-"),
    ("C-1003", "Maple Street Bakery", "hello@maplestreetbakery.example",
     "Maple Street Bakery", "231 Maple St, Minneapolis, MN 55414", "Grace Kim", ""),
    ("C-1004", "Riverbend Public Library", "facilities@riverbendlib.example",
     "Riverbend Library — Main", "500 River Rd, Anoka, MN 55303", "Tom Becker", "RPL-"),
    ("C-1005", "Cedar Ridge Middle School", "maintenance@cedarridge.example",
     "Cedar Ridge MS", "1200 Cedar Ridge Pkwy, Eagan, MN 55122", "Angela Moore", "ISD-"),
    ("C-1006", "Oakwood Medical Plaza", "ap@oakwoodmed.example",
     "Oakwood Medical Plaza", "77 Oakwood Ave, Edina, MN 55435", "Dr. Raj Patel", "OMP-"),
    ("C-1007", "Prairie Wind Credit Union", "ops@prairiewindcu.example",
     "Prairie Wind CU — Roseville", "2150 Snelling Ave N, Roseville, MN 55113", "Kelly Nguyen", "PW-"),
    ("C-1008", "Bluebird Coworking", "spaces@bluebird.example",
     "Bluebird Coworking — North Loop", "310 Washington Ave N, Minneapolis, MN 55401", "Jonah Weiss", ""),
    ("C-1009", "St. Anne's Parish Hall", "parish@stannes.example",
     "St. Anne's Parish Hall", "19 Church St, Stillwater, MN 55082", "Fr. Michael Byrne", ""),
    ("C-1010", "Foxglove Boutique Hotel", "engineering@foxglovehotel.example",
     "Foxglove Hotel", "600 Hennepin Ave, Minneapolis, MN 55403", "Sofia Alvarez", "FOX-"),
    ("C-1011", "Ironworks Brewing Co.", "brewmaster@ironworks.example",
     "Ironworks Taproom", "1450 Quarry Rd, Bloomington, MN 55420", "Ben Lindqvist", ""),
    ("C-1012", "Summit Law Group", "admin@summitlaw.example",
     "Summit Law — 14th floor", "80 S 8th St, Minneapolis, MN 55402", "Rachel Ng", "SLG-"),
)
CATALOG = {  # code: (kind, description, unit price, unit cost, taxable)
    "LAB-STD": ("labour", "Service technician labour", "125.00", "48.00", "no"),
    "LAB-AH": ("labour", "After-hours labour (1.5x)", "187.50", "72.00", "no"),
    "LAB-AV": ("labour", "AV technician labour", "110.00", "45.00", "no"),
    "FLT-16X25": ("part", "Pleated filter 16x25x1 MERV 11", "18.50", "6.20", "yes"),
    "FLT-20X25": ("part", "Pleated filter 20x25x4 MERV 13", "42.00", "17.50", "yes"),
    "CAP-45-5": ("part", "Dual run capacitor 45/5 µF 440V", "89.00", "14.80", "yes"),
    "CAP-35-5": ("part", "Dual run capacitor 35/5 µF 440V", "79.00", "12.90", "yes"),
    "CONT-40A": ("part", "Contactor 2-pole 40A 24V coil", "64.00", "16.00", "yes"),
    "MOT-CF-14": ("part", "Condenser fan motor 1/4 HP", "245.00", "88.00", "yes"),
    "IGN-HSI": ("part", "Hot surface igniter", "112.00", "31.00", "yes"),
    "FLM-SENS": ("part", "Flame sensor", "58.00", "9.00", "yes"),
    "TSTAT-T6": ("part", "Smart thermostat T6 Pro", "219.00", "96.00", "yes"),
    "BAL-HDMI-4K": ("part", "HDMI 4K balun over Cat6 (pair)", "149.00", "58.00", "yes"),
    "MNT-TV-TILT": ("part", "Tilting TV wall mount 55–85 in", "89.00", "31.00", "yes"),
    "MNT-PROJ": ("part", "Universal projector ceiling mount", "165.00", "62.00", "yes"),
    "CBL-HDMI-10": ("part", "HDMI 2.1 cable 10 ft", "24.00", "7.00", "yes"),
    "CTRL-KEYPAD": ("part", "Room control keypad", "385.00", "170.00", "yes"),
    "EQUIP-RTU-5T": ("part", "Rooftop unit 5-ton gas/electric", "6850.00", "4200.00", "yes"),
    "EQUIP-DISPLAY-86": ("part", "86 in 4K commercial display", "3900.00", "2650.00", "yes"),
    "EQUIP-MS-24K": ("part", "Ductless mini-split 24,000 BTU", "3200.00", "1900.00", "yes"),
    "EQUIP-FURN-80": ("part", "Gas furnace 80,000 BTU 96% AFUE", "3875.00", "2300.00", "yes"),
    "EQUIP-VRF-9": ("part", "VRF branch selector box, 9-port", "2450.00", "1500.00", "yes"),
    "REF-R410A": ("material", "Refrigerant R-410A (per lb)", "95.00", "28.00", "yes"),
    "REF-R454B": ("material", "Refrigerant R-454B (per lb)", "110.00", "35.00", "yes"),
    "CBL-CAT6": ("material", "Cat6 plenum cable (per ft)", "0.85", "0.31", "yes"),
    "COIL-CLN": ("material", "Foaming coil cleaner (can)", "22.00", "8.00", "yes"),
    "MAT-MISC": ("material", "Fittings, fasteners and consumables", "15.00", "5.00", "yes"),
    "TRIP-STD": ("fee", "Trip charge", "89.00", "", "no"),
    "TRIP-AH": ("fee", "After-hours trip charge", "149.00", "", "no"),
    "INSP-FEE": ("fee", "Annual safety inspection", "175.00", "", "no"),
    "DISC-PLAN": ("discount", "Comfort Club member discount", "25.00", "", "no"),
}
TEMPLATES = {  # name: (job type, crews, lines as (code, quantity or labour hours))
    "furnace-tune-up": ("preventive", "AB", (
        ("LAB-STD", "1.5"), ("FLT-16X25", "2"), ("TRIP-STD", "1"), ("DISC-PLAN", "1"),
    )),
    "rtu-seasonal": ("preventive", "AB", (("LAB-STD", "3"), ("FLT-20X25", "4"), ("COIL-CLN", "2"), ("TRIP-STD", "1"))),
    "heat-pump-pm": ("preventive", "AB", (("LAB-STD", "2"), ("FLT-16X25", "1"), ("MAT-MISC", "1"), ("TRIP-STD", "1"))),
    "capacitor": ("corrective", "AB", (("LAB-STD", "1.5"), ("CAP-45-5", "1"), ("TRIP-STD", "1"))),
    "contactor": ("corrective", "AB", (("LAB-STD", "1"), ("CONT-40A", "1"), ("TRIP-STD", "1"))),
    "fan-motor": ("corrective", "AB", (("LAB-STD", "2.5"), ("MOT-CF-14", "1"), ("CAP-35-5", "1"), ("TRIP-STD", "1"))),
    "leak-recharge": ("corrective", "AB", (("LAB-STD", "3"), ("REF-R410A", "4"), ("MAT-MISC", "2"), ("TRIP-STD", "1"))),
    "no-heat-igniter": ("emergency", "B", (("LAB-AH", "2"), ("IGN-HSI", "1"), ("TRIP-AH", "1"))),
    "no-heat-sensor": ("emergency", "B", (("LAB-AH", "1.5"), ("FLM-SENS", "1"), ("TRIP-AH", "1"))),
    "server-room": ("emergency", "B", (("LAB-AH", "3"), ("CAP-45-5", "1"), ("REF-R410A", "2"), ("TRIP-AH", "1"))),
    "gas-safety": ("inspection", "AB", (("INSP-FEE", "1"), ("LAB-STD", "1"))),
    "rtu-inspection": ("inspection", "AB", (("INSP-FEE", "1"), ("LAB-STD", "1.5"), ("FLT-20X25", "2"))),
    "av-health-check": ("general_maintenance", "C", (("LAB-AV", "2"), ("CBL-HDMI-10", "2"), ("TRIP-STD", "1"))),
    "projector-service": ("general_maintenance", "C", (("LAB-AV", "1.5"), ("MAT-MISC", "1"), ("TRIP-STD", "1"))),
    "thermostat-check": ("general_maintenance", "AB", (("LAB-STD", "1"), ("TRIP-STD", "1"))),
    "lobby-display": ("installation", "C", (
        ("LAB-AV", "3"), ("MNT-TV-TILT", "1"), ("BAL-HDMI-4K", "1"), ("CBL-CAT6", "80"), ("TRIP-STD", "1"),
    )),
    "thermostat-install": ("installation", "AB", (("LAB-STD", "1.5"), ("TSTAT-T6", "1"), ("TRIP-STD", "1"))),
    "projector-install": ("installation", "C", (
        ("LAB-AV", "4"), ("MNT-PROJ", "1"), ("BAL-HDMI-4K", "1"), ("CBL-CAT6", "120"), ("CTRL-KEYPAD", "1"),
    )),
    "rtu-replacement": ("installation", "A", (
        ("LAB-STD", "6"), ("LAB-STD", "6"), ("EQUIP-RTU-5T", "1"), ("MAT-MISC", "6"),
    )),
    "boardroom-av": ("installation", "C", (
        ("LAB-AV", "4"), ("LAB-AV", "4"), ("EQUIP-DISPLAY-86", "1"), ("BAL-HDMI-4K", "2"), ("MNT-TV-TILT", "1"),
        ("CBL-CAT6", "120"),
    )),
    "mini-split": ("installation", "B", (
        ("LAB-STD", "5"), ("LAB-STD", "5"), ("EQUIP-MS-24K", "1"), ("REF-R454B", "4"), ("TSTAT-T6", "1"),
    )),
    "furnace-replacement": ("installation", "A", (("LAB-STD", "5"), ("LAB-STD", "4"), ("EQUIP-FURN-80", "1"))),
    "vrf-branch-box": ("installation", "A", (("LAB-STD", "4"), ("EQUIP-VRF-9", "1"), ("MAT-MISC", "2"))),
    "warranty-callback": ("corrective", "AB", (("LAB-STD", "1"), ("CAP-45-5", "1"))),
    "callback-no-lines": ("corrective", "AB", ()),
}
SPECIAL_ONLY = (
    "rtu-replacement", "boardroom-av", "mini-split", "furnace-replacement", "vrf-branch-box", "warranty-callback",
    "callback-no-lines",
)
JOB_TYPES = ("preventive", "corrective", "emergency", "inspection", "general_maintenance", "installation")
CLEAN = {t: [n for n, (kind, _, _) in TEMPLATES.items() if kind == t and n not in SPECIAL_ONLY] for t in JOB_TYPES}
SPECIALS = {  # position: (template, what is wrong with it)
    2: ("capacitor", "no_sign_off"), 9: ("furnace-tune-up", "no_sign_off"), 27: ("av-health-check", "no_sign_off"),
    5: ("fan-motor", "unpriced_part"), 33: ("lobby-display", "unpriced_part"),
    12: ("rtu-replacement", "over_threshold"), 41: ("boardroom-av", "over_threshold"),
    22: ("mini-split", "over_threshold_approved"), 47: ("furnace-replacement", "at_threshold"),
    15: ("heat-pump-pm", "cancelled"), 44: ("gas-safety", "cancelled"),
    57: ("rtu-inspection", "scheduled"), 59: ("projector-service", "scheduled"),
    38: ("vrf-branch-box", "unmapped_item"), 18: ("leak-recharge", "bad_quantity"),
    51: ("no-heat-igniter", "customer_disagrees"), 30: ("warranty-callback", "warranty"),
    55: ("callback-no-lines", "no_lines"), 7: ("capacitor", "hours_mismatch"), 20: ("no-heat-sensor", "no_note"),
    25: ("furnace-tune-up", "duplicate"), 35: ("thermostat-install", "no_after_photo"),
    40: ("thermostat-check", "time_only"), 49: ("contactor", "no_email"), 53: ("contactor", "below_cost"),
}
JOBS, PER_WEEK, FIRST_MONDAY = 60, 20, datetime(2026, 11, 2)
APPROVER = "Morgan Hale (operations manager)"
NOTES = ("Customer asked for a quote on a humidifier.", "Outdoor unit clear of debris; 18°F split across the coil.",
         "Left old parts with the customer.", "Gate code 4471 for the loading dock.")


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def job_rows(position: int, rng: random.Random) -> list[dict[str, str]]:
    """The CSV rows of the job at ``position`` (0-based over the three weeks)."""
    clean = CLEAN[JOB_TYPES[position % len(JOB_TYPES)]]
    template, special = SPECIALS.get(position, (clean[rng.randrange(len(clean))], ""))
    job_type, crews, lines = TEMPLATES[template]
    customer = CUSTOMERS[1 if special == "customer_disagrees" else rng.randrange(len(CUSTOMERS))]
    crew_name, (lead, helper) = CREWS[crews[position % len(crews)]]
    day = FIRST_MONDAY + timedelta(days=7 * (position // PER_WEEK) + (position % PER_WEEK) // 4)
    hour, minute = (19, 30) if job_type == "emergency" else ((8, 10, 13, 15)[position % 4], 0)
    start = day.replace(hour=hour, minute=minute)
    status = {"cancelled": "cancelled", "scheduled": "scheduled"}.get(special, "completed")
    rows = line_rows(lines if status == "completed" else (), start, lead, helper) or [{"technician": lead}]
    ends = [datetime.fromisoformat(row["hours_end"]) for row in rows if row.get("hours_end")]
    done = max([start + timedelta(hours=1), *ends]) + timedelta(minutes=10)
    updated = (done if status == "completed" else day - timedelta(days=2)) + timedelta(minutes=25)
    job = {
        "job_id": f"J{20461 + position}", "job_number": str(1001 + position), "customer_id": customer[0],
        "customer_name": customer[1], "customer_email": customer[2], "site_name": customer[3],
        "site_address": customer[4], "job_type": job_type, "status": status, "timezone": "America/Chicago",
        "priority": "urgent" if job_type == "emergency" else ("high" if position % 7 == 0 else "normal"),
        "updated_at": f"{updated:%Y-%m-%dT%H:%M:00}-06:00" if position % 5 == 0 else stamp(updated),
        "crew": crew_name, "currency": "USD",
        "po_number": f"{customer[6]}{44800 + position * 7}" if customer[6] else "",
    }
    if status == "completed" and special != "no_sign_off":
        job |= {"signed_by": customer[5], "signed_at": stamp(done + timedelta(minutes=3))}
    if status == "completed":
        job["completed_at"] = stamp(done)
    if special == "over_threshold_approved":
        job |= {"approved_by": APPROVER, "approved_at": f"{start - timedelta(days=3):%Y-%m-%d 09:15}"}
    if special == "unpriced_part":
        next(r for r in rows if r.get("line_kind") == "part")["unit_price"] = ""
    if special == "bad_quantity":
        next(r for r in rows if r.get("line_kind") == "material")["quantity"] = "two"
    if status == "completed" and special != "no_note":
        rows[0]["notes"] = NOTES[position % len(NOTES)]
    if status == "completed" and job_type == "installation":
        job["photos_before"] = f"photos/J{20461 + position}-before.jpg"
        if special != "no_after_photo":
            job["photos_after"] = f"photos/J{20461 + position}-after-1.jpg; photos/J{20461 + position}-after-2.jpg"
    if special == "warranty":
        job["billing"] = "warranty"
    if special == "no_email":
        job["customer_email"] = ""
    if special == "hours_mismatch":
        next(r for r in rows if r.get("line_kind") == "labour")["quantity"] = "3"
    if special == "below_cost":
        next(r for r in rows if r.get("line_kind") == "part")["unit_price"] = "12.00"
    if special == "time_only":
        labour = next(r for r in rows if r.get("line_kind") == "labour")
        labour |= {"quantity": "", "unit_price": "", "unit_cost": "", "item_code": "", "description": "",
                   "hours_end": stamp(datetime.fromisoformat(labour["hours_start"]) + timedelta(minutes=67))}
    street, city, region_zip = customer[4].split(", ")
    region, postal_code = region_zip.split(" ")
    job |= {"site_address": street, "site_city": city, "site_region": region, "site_postal_code": postal_code,
            "site_country": "US"}
    if status == "completed":
        tax = source_tax(rows, region, city)
        job["tax"] = str(tax + Decimal("4.50") if position == TAX_DIFFERS else tax)
    result = [{column: (job | row).get(column, "") for column in COLUMNS} for row in rows]
    if special == "customer_disagrees":
        result[1]["customer_name"] = "Harbor Point Apts."
    return result


def source_tax(rows: list[dict[str, str]], region: str, city: str) -> Decimal:
    """The tax on the taxable lines at the site's rate, rounded half up once on their sum."""
    rate = SALES_TAX.get((region, city), SALES_TAX[(region, "")])
    base = Decimal(0)
    for row in rows:
        try:
            amount = (Decimal(row["quantity"]) * Decimal(row["unit_price"])).quantize(Decimal("0.01"), ROUND_HALF_UP)
        except (KeyError, ArithmeticError):
            continue  # unpriced or unreadable: that job never reaches the ledger
        if row.get("taxable") == "yes":
            base += amount
    return (base * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)


def line_rows(lines: tuple[tuple[str, str], ...], start: datetime, lead: str, helper: str) -> list[dict[str, str]]:
    """One row per catalog line; the first labour line is the lead's, a second one the helper's, side by side."""
    rows: list[dict[str, str]] = []
    for code, quantity in lines:
        kind, description, price, cost, taxable = CATALOG[code]
        row = {"line_kind": kind, "item_code": code, "description": description, "quantity": quantity,
               "unit_price": price, "unit_cost": cost, "taxable": taxable, "technician": lead}
        if kind == "labour":
            end = start + timedelta(minutes=int(Decimal(quantity) * 60))
            worker = helper if any(r.get("hours_start") for r in rows) else lead
            row |= {"technician": worker, "hours_start": stamp(start), "hours_end": stamp(end)}
        rows.append(row)
    return rows


def duplicate_rows(position: int, previous: list[dict[str, str]]) -> list[dict[str, str]]:
    """The job before, entered again under a new id and number: same customer, site, day and amount."""
    return [row | {"job_id": f"J{20461 + position}", "job_number": str(1001 + position)} for row in previous]


def write_jobs(folder: Path) -> list[Path]:
    rng = random.Random(2026_11)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    previous: list[dict[str, str]] = []
    for week in range(JOBS // PER_WEEK):
        path = folder / f"northwind-2026-11-week{week + 1}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for position in range(week * PER_WEEK, (week + 1) * PER_WEEK):
                special = SPECIALS.get(position, ("", ""))[1]
                rows = duplicate_rows(position, previous) if special == "duplicate" else job_rows(position, rng)
                writer.writerows(rows)
                previous = rows
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_jobs(Path(__file__).parent / "jobs"):
        print(written)
