#!/usr/bin/env python3
"""Checks a Setu export with the tools researchers use.

Usage: python3 spec/tools/check_exports.py DIR EXPECTED_ROWS [EXPECTED_ADOPTIONS]

DIR holds what `setu export` wrote: practices.parquet, practices.csv with its
datapackage.json, and optionally practices.jsonl; beside them, when present,
the adoption tables adoptions.csv, edges.csv, seekings.csv and their Parquet
twins. EXPECTED_ROWS is the number of practices exported (one row each;
`setu query --all` prints as many); EXPECTED_ADOPTIONS, if given, the number
of current adoption reports.

  * DuckDB opens the Parquet: the row count and the count of distinct
    practice ids are EXPECTED_ROWS, map access `title['en']` works, and the
    nested lists and TCV columns can be queried.
  * pandas (with pyarrow) reads the Parquet.
  * frictionless validates datapackage.json against every CSV it lists
    (types, constraints, primary keys, foreign keys).
  * The CSV and the Parquet hold the same records; the JSONL, if present,
    has one practice line per practice (and adoption and seeking lines),
    each with its signed record in canonical base64 whose envelope hashes
    (SHA-256) to the line's id.
  * The adoption tables, if present: pandas and DuckDB read them, the CSV
    and Parquet files agree, every edge comes from its adoption report, and
    networkx builds the adoption graph with exactly the call the docs give:
      networkx.from_pandas_edgelist(pandas.read_csv("edges.csv"), "source",
          "target", edge_attr=["practice_id", "stage"],
          create_using=networkx.MultiDiGraph)

Prints one line per check, then "N passed, M failed"; exits 0 only if M == 0.
Dependencies are pinned in spec/tools/requirements-exports.txt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import traceback
from pathlib import Path


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def run(self, name: str, fn) -> None:
        try:
            detail = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            if not isinstance(e, AssertionError):
                traceback.print_exc(limit=3)
            return
        self.passed += 1
        print(f"ok   {name}" + (f": {detail}" if detail else ""))


def sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def one_row(sql: str) -> tuple:
    """The single row of a query (DuckDB 2 relations have no fetchone())."""
    import duckdb

    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == 1, f"{len(rows)} rows from {sql!r}"
    return rows[0]


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or not all(a.isdigit() for a in argv[2:]):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = Path(argv[1])
    expected = int(argv[2])
    expected_adoptions = int(argv[3]) if len(argv) == 4 else None
    parquet = out / "practices.parquet"
    csv_path = out / "practices.csv"
    package = out / "datapackage.json"
    jsonl = out / "practices.jsonl"
    checks = Checks()

    def files_exist():
        missing = [p.name for p in (parquet, csv_path, package) if not p.is_file()]
        assert not missing, f"missing {missing}"

    checks.run("the export files exist", files_exist)

    # -- DuckDB --------------------------------------------------------------
    def duckdb_counts():
        import duckdb

        rows, distinct = one_row(
            f"select count(*), count(distinct practice_id) from '{sql_path(parquet)}'"
        )
        assert rows == expected, f"{rows} rows, expected {expected}"
        assert distinct == expected, f"{distinct} distinct practice ids, expected {expected}"
        return f"duckdb {duckdb.__version__}: {rows} rows, {distinct} practice ids"

    def duckdb_map_access():
        import duckdb

        rows = duckdb.sql(
            f"select practice_id, title['en'] as en, title[title_original_language] as orig "
            f"from '{sql_path(parquet)}'"
        ).fetchall()
        assert len(rows) == expected

        def one(v):
            # DuckDB before 1.4 returns a list from map access; later, the value.
            if isinstance(v, list):
                return v[0] if v else None
            return v

        english = [one(en) for _, en, _ in rows if one(en) is not None]
        originals = [one(o) for _, _, o in rows]
        assert all(isinstance(t, str) and t for t in english), "title['en'] is text"
        if expected:
            assert english, "no English title at all"
        assert all(isinstance(t, str) and t for t in originals), (
            "every row has a title in its original language"
        )
        return f"{len(english)} English titles, e.g. {english[0]!r}" if english else ""

    def duckdb_nested():
        q = f"""
            select
              count(*) filter (where len(countries) >= 1),
              count(*) filter (where len(sdg_targets) >= 1),
              count(*) filter (where list_contains(sdg_goals, 16)),
              count(*) filter (where tcv_time_change_bp is not null),
              count(*) filter (where len(metrics) > 0),
              min(signed_at)
            from '{sql_path(parquet)}'
        """
        with_country, with_sdg, goal16, with_time, with_metrics, first = one_row(q)
        assert with_country == expected, "every practice lists a country"
        assert with_sdg == expected, "every practice lists an SDG target"
        assert with_time <= with_metrics, "a TCV column without metrics"
        bad = one_row(
            f"""select count(*) from (
                  select unnest(countries) as c from '{sql_path(parquet)}'
                ) where c.role not in ('originating', 'adopting', 'partner')"""
        )[0]
        assert bad == 0, f"{bad} countries with an unknown role"
        return f"SDG 16: {goal16}; with a time metric: {with_time}; first signed {first}"

    def duckdb_reads_csv():
        n = one_row(f"select count(*) from read_csv('{sql_path(csv_path)}')")[0]
        assert n == expected, f"{n} CSV rows, expected {expected}"
        return f"{n} rows"

    checks.run("DuckDB counts the Parquet", duckdb_counts)
    checks.run("DuckDB map access title['en']", duckdb_map_access)
    checks.run("DuckDB queries the nested columns", duckdb_nested)
    checks.run("DuckDB reads the CSV", duckdb_reads_csv)

    # -- pandas --------------------------------------------------------------
    def pandas_reads():
        import pandas as pd
        import pyarrow

        df = pd.read_parquet(parquet)
        assert len(df) == expected, f"{len(df)} rows, expected {expected}"
        for col in ("record_id", "practice_id", "title", "countries", "metrics", "signed_at"):
            assert col in df.columns, f"no column {col}"
        assert "contact" not in df.columns, "contact must not be exported"
        assert df["record_id"].is_unique, "record ids repeat"
        if expected:
            title = dict(df["title"].iloc[0])
            assert title and all(isinstance(v, str) for v in title.values())
            assert str(df["signed_at"].dt.tz) == "UTC", df["signed_at"].dtype
        return f"pandas {pd.__version__}, pyarrow {pyarrow.__version__}: {df.shape}"

    def pandas_reads_csv():
        import pandas as pd

        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        assert len(df) == expected, f"{len(df)} rows, expected {expected}"
        pq = pd.read_parquet(parquet, columns=["record_id"])
        assert set(df["record_id"]) == set(pq["record_id"]), "CSV and Parquet differ"
        assert "title_en" in df.columns
        return f"{len(df.columns)} columns"

    checks.run("pandas reads the Parquet", pandas_reads)
    checks.run("the CSV holds the Parquet's records", pandas_reads_csv)

    # -- frictionless ----------------------------------------------------------
    def frictionless_valid():
        from importlib.metadata import version

        from frictionless import validate

        report = validate(str(package))
        if not report.valid:
            errors = report.flatten(["rowNumber", "fieldName", "type", "note"])
            raise AssertionError(f"not valid: {errors[:10]}")
        counts = []
        for task in report.tasks:
            rows = task.stats.get("rows") if isinstance(task.stats, dict) else None
            counts.append(f"{task.name} {rows}")
        task = report.tasks[0]
        rows = task.stats.get("rows") if isinstance(task.stats, dict) else None
        if rows is not None:
            assert rows == expected, f"{rows} rows validated, expected {expected}"
        desc = json.loads(package.read_text(encoding="utf-8"))
        assert len(report.tasks) == len(desc["resources"]), "a resource was not validated"
        return f"frictionless {version('frictionless')}: valid, rows: {', '.join(counts)}"

    def package_describes_every_column():
        import csv

        desc = json.loads(package.read_text(encoding="utf-8"))
        assert desc["resources"][0]["path"] == csv_path.name
        described = []
        for res in desc["resources"]:
            with (out / res["path"]).open(encoding="utf-8", newline="") as f:
                header = next(csv.reader(f))
            names = [fld["name"] for fld in res["schema"]["fields"]]
            assert names == header, f"{res['path']}: schema fields differ from the CSV header"
            assert all(fld.get("description") for fld in res["schema"]["fields"]), res["path"]
            described.append(f"{res['path']} {len(names)}")
        return f"columns described: {', '.join(described)}"

    checks.run("frictionless validates datapackage.json", frictionless_valid)
    checks.run("the data package describes every CSV column", package_describes_every_column)

    # -- JSONL (optional) --------------------------------------------------------
    if jsonl.is_file():

        def envelope_bytes(signed: bytes) -> bytes:
            """The envelope of a signed record, [bstr envelope, bstr sig]
            (spec/record.md section 4), whose SHA-256 is the record id."""
            assert signed[0] == 0x82 and signed[1] >> 5 == 2, "not [bstr, bstr]"
            ai = signed[1] & 0x1F
            if ai < 24:
                n, at = ai, 2
            else:
                width = {24: 1, 25: 2, 26: 4}[ai]
                n, at = int.from_bytes(signed[2 : 2 + width], "big"), 2 + width
            return signed[at : at + n]

        def jsonl_lines():
            kinds: dict[str, int] = {}
            with jsonl.open(encoding="utf-8") as f:
                for line in f:
                    rec = json.loads(line)
                    assert set(rec) >= {"id", "kind", "signed_record", "envelope"}
                    assert rec["kind"] == rec["envelope"]["kind"], rec["id"]
                    signed = base64.b64decode(rec["signed_record"], validate=True)
                    assert base64.b64encode(signed).decode() == rec["signed_record"], rec["id"]
                    assert rec["id"] == hashlib.sha256(envelope_bytes(signed)).hexdigest(), rec["id"]
                    kinds[rec["kind"]] = kinds.get(rec["kind"], 0) + 1
            assert set(kinds) <= {"practice", "adoption", "seeking"}, kinds
            n = kinds.get("practice", 0)
            assert n == expected, f"{n} practice lines, expected {expected}"
            if expected_adoptions is not None:
                a = kinds.get("adoption", 0)
                assert a == expected_adoptions, f"{a} adoption lines, expected {expected_adoptions}"
            return ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))

        checks.run("the JSONL has one line per record", jsonl_lines)

    # -- Adoption tables (when present) -------------------------------------------
    tables = {
        name: (out / f"{name}.csv", out / f"{name}.parquet")
        for name in ("adoptions", "edges", "seekings")
    }
    if any(p.is_file() for pair in tables.values() for p in pair):
        check_adoption_tables(checks, out, tables, csv_path, package, expected_adoptions)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


def check_adoption_tables(checks, out, tables, practices_csv, package, expected_adoptions):
    """The adoptions, edges and seekings files beside the practices."""

    def read_csv(path):
        import pandas as pd

        # Text as text: no "NA" country or practice id turned into a NaN.
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    def all_present():
        missing = [p.name for pair in tables.values() for p in pair if not p.is_file()]
        assert not missing, f"missing {missing}"
        return ", ".join(sorted(p.name for pair in tables.values() for p in pair))

    checks.run("the adoption tables are all there", all_present)

    def csv_and_parquet_agree():
        import pandas as pd

        notes = []
        for name, (csv_file, parquet_file) in tables.items():
            c = read_csv(csv_file)
            p = pd.read_parquet(parquet_file)
            assert len(c) == len(p), f"{name}: {len(c)} CSV rows, {len(p)} Parquet rows"
            # The CSV has a column per language where the Parquet has a map.
            maps = [col for col in p.columns if col not in c.columns]
            expanded = [col for col in c.columns if col not in p.columns]
            for col in maps:
                if p[col].notna().any():
                    assert any(e.startswith(col + "_") for e in expanded), (
                        f"{name}: Parquet column {col} has no CSV columns"
                    )
            assert all(any(e.startswith(m + "_") for m in maps) for e in expanded), (
                f"{name}: CSV columns {expanded} are not languages of {maps}"
            )
            assert "contact" not in p.columns, f"{name}: contact must not be exported"
            if "record_id" in c.columns:
                assert c["record_id"].is_unique, f"{name}: record ids repeat"
                assert set(c["record_id"]) == set(p["record_id"]), f"{name}: CSV and Parquet differ"
            notes.append(f"{name} {len(c)}")
        if expected_adoptions is not None:
            n = len(read_csv(tables["adoptions"][0]))
            assert n == expected_adoptions, f"{n} adoptions, expected {expected_adoptions}"
        return ", ".join(notes)

    checks.run("the adoption tables' CSV and Parquet files agree", csv_and_parquet_agree)

    def edges_come_from_adoptions():
        a = read_csv(tables["adoptions"][0]).set_index("record_id")
        e = read_csv(tables["edges"][0])
        want = set()
        for rid, row in a.iterrows():
            if row["practice_record_id"]:
                for source in dict.fromkeys(row["origin_countries"].split(";")):
                    if source:
                        want.add((source, row["country"], row["practice_id"], row["stage"], rid))
        got = {
            (r.source, r.target, r.practice_id, r.stage, r.adoption_record_id)
            for r in e.itertuples()
        }
        assert len(got) == len(e), "an edge repeats"
        assert got == want, f"edges {sorted(got ^ want)[:5]} differ from the adoption reports"
        practices = set(read_csv(practices_csv)["record_id"])
        desc = json.loads(package.read_text(encoding="utf-8"))
        adoptions_res = next(r for r in desc["resources"] if r["name"] == "adoptions")
        keyed = any(
            fk["fields"] == "practice_record_id"
            for fk in adoptions_res["schema"].get("foreignKeys", [])
        )
        if keyed:
            missing = set(e["practice_record_id"]) - practices
            assert not missing, f"edges name practices not exported: {sorted(missing)[:3]}"
        held = sum(1 for v in a["practice_record_id"] if v)
        return f"{len(e)} edges from {held} of {len(a)} reports whose practice is held" + (
            "; foreign key to the practices declared" if keyed else ""
        )

    checks.run("every edge comes from an adoption report", edges_come_from_adoptions)

    def duckdb_reads_adoptions():
        a = sql_path(tables["adoptions"][1])
        e = sql_path(tables["edges"][1])
        n, with_places, english = one_row(
            f"select count(*), count(*) filter (where len(places) > 0), "
            f"count(adaptation['en']) from '{a}'"
        )
        if expected_adoptions is not None:
            assert n == expected_adoptions, f"{n} rows, expected {expected_adoptions}"
        pairs = one_row(f"select count(distinct (source, target)) from '{e}'")[0]
        return f"{n} adoptions ({with_places} with places, {english} adaptations in English); {pairs} country pairs"

    checks.run("DuckDB queries adoptions.parquet and edges.parquet", duckdb_reads_adoptions)

    def networkx_graph():
        import os

        import networkx
        import pandas

        edges = read_csv(tables["edges"][0])
        cwd = os.getcwd()
        os.chdir(out)
        try:
            # Exactly the call the docs give (crates/setu-export/src/lib.rs).
            g = networkx.from_pandas_edgelist(
                pandas.read_csv("edges.csv"),
                "source",
                "target",
                edge_attr=["practice_id", "stage"],
                create_using=networkx.MultiDiGraph,
            )
        finally:
            os.chdir(cwd)
        assert isinstance(g, networkx.MultiDiGraph)
        assert g.number_of_edges() == len(edges), f"{g.number_of_edges()} edges, {len(edges)} rows"
        assert set(g.nodes) == set(edges["source"]) | set(edges["target"])
        for u, v, data in g.edges(data=True):
            assert set(data) == {"practice_id", "stage"}, data
        top = sorted(g.in_degree, key=lambda x: (-x[1], x[0]))[:3]
        return (
            f"networkx {networkx.__version__}: {g.number_of_nodes()} countries, "
            f"{g.number_of_edges()} adoptions; most adopting: {top}"
        )

    checks.run("networkx builds the adoption graph from edges.csv", networkx_graph)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
