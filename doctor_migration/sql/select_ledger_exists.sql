SELECT to_regclass('doctor_migration.runs') IS NOT NULL
   AND to_regclass('doctor_migration.row_changes') IS NOT NULL AS ledger_exists;
