"""What the asset catalog knows of every asset before any run, defined once: who owns it, its
tags, and for a table its name and columns (Dagster's Storage and Columns). Runs add only what
they find: row counts, the stage's query, seals."""

import dagster as dg

# Dagster's conventions for a data team: owners as "team:<name>" (or an e-mail), tags as
# key/value pairs to filter the catalog by.
OWNERS = ["team:data-platform"]
# The legacy tables belong to the legacy Django application's team: the migration only reads them.
LEGACY_OWNERS = ["team:legacy-dispatch"]
TAGS = {"domain": "doctors"}

# A table's columns: (name, type, description).
Columns = list[tuple[str, str, str]]


def table(qualified: str, columns: Columns) -> dict:
    """The definition metadata of a table asset: where it is and its columns."""
    return {
        "dagster/table_name": qualified,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(name, kind, description=text) for name, kind, text in columns]),
    }
