"""The mapping's rows on the target: COPYed into a temp table typed like public.doctors, which
the load merges from and the reconciliation compares against."""

from __future__ import annotations

import pandas as pd
import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.mapping import copy_rows


def stage_rows(conn: psycopg.Connection, rows: pd.DataFrame) -> None:
    """The mapping's rows, COPYed into a temp table typed like public.doctors (dropped at
    the end of the transaction)."""
    conn.execute(load_sql("create_doctor_stage"))
    with conn.cursor().copy(load_sql("copy_doctor_stage")) as copy:
        for values in copy_rows(rows):
            copy.write_row(values)
