#!/usr/bin/env python3
"""Checks a Setu export with the tools researchers use.

Usage: python3 spec/tools/check_exports.py DIR EXPECTED_ROWS

DIR holds what `setu export` wrote: practices.parquet, practices.csv with its
datapackage.json, and optionally practices.jsonl. EXPECTED_ROWS is the number
of practices exported (one row each; `setu query --all` prints as many).

  * DuckDB opens the Parquet: the row count and the count of distinct
    practice ids are EXPECTED_ROWS, map access `title['en']` works, and the
    nested lists and TCV columns can be queried.
  * pandas (with pyarrow) reads the Parquet.
  * frictionless validates datapackage.json against the CSV (types,
    constraints, primary key).
  * The CSV and the Parquet hold the same records; the JSONL, if present,
    has one line per record.

Prints one line per check, then "N passed, M failed"; exits 0 only if M == 0.
Dependencies are pinned in spec/tools/requirements-exports.txt.
"""

from __future__ import annotations

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
    if len(argv) != 3 or not argv[2].isdigit():
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = Path(argv[1])
    expected = int(argv[2])
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
        task = report.tasks[0]
        rows = task.stats.get("rows") if isinstance(task.stats, dict) else None
        if rows is not None:
            assert rows == expected, f"{rows} rows validated, expected {expected}"
        return f"frictionless {version('frictionless')}: valid, {rows} rows"

    def package_describes_every_column():
        import csv

        desc = json.loads(package.read_text(encoding="utf-8"))
        res = desc["resources"][0]
        assert res["path"] == csv_path.name
        with csv_path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        names = [fld["name"] for fld in res["schema"]["fields"]]
        assert names == header, "schema fields differ from the CSV header"
        assert all(fld.get("description") for fld in res["schema"]["fields"])
        return f"{len(names)} columns described"

    checks.run("frictionless validates datapackage.json", frictionless_valid)
    checks.run("the data package describes every CSV column", package_describes_every_column)

    # -- JSONL (optional) --------------------------------------------------------
    if jsonl.is_file():

        def jsonl_lines():
            n = 0
            with jsonl.open(encoding="utf-8") as f:
                for line in f:
                    rec = json.loads(line)
                    assert set(rec) >= {"id", "signed_record", "envelope"}
                    bytes.fromhex(rec["signed_record"])
                    n += 1
            assert n == expected, f"{n} lines, expected {expected}"
            return f"{n} lines"

        checks.run("the JSONL has one line per record", jsonl_lines)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
