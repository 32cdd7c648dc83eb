INSERT INTO doctor_migration.runs (run_id, started_at, expected_count, clean_count, os_user, tool_version, ledger_format, stage_id)
VALUES (%(run_id)s, %(started_at)s, %(expected_count)s, %(clean_count)s, %(os_user)s, %(tool_version)s, %(ledger_format)s, %(stage_id)s);
