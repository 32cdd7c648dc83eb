-- The run to roll back, locked so two rollbacks of it cannot both proceed.
SELECT r.run_id, r.started_at, r.rolled_back_at, r.rolled_back_by,
       r.inserted, r.updated, r.deleted
FROM doctor_migration.runs AS r
WHERE r.run_id = %(run_id)s
FOR UPDATE;
