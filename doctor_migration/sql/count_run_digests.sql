-- How many clean doctors a committed run left (its run_digests rows).
SELECT count(*) FROM doctor_migration.run_digests WHERE run_id = %(run_id)s;
