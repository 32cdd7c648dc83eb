-- Later runs, not rolled back, that wrote rows this run wrote, or rows of the same legacy
-- users (a row this run deleted may have come back as a new row): they must be undone first.
SELECT later.run_id, count(DISTINCT theirs.doctor_id) AS rows
FROM doctor_migration.row_changes AS mine
JOIN doctor_migration.row_changes AS theirs
  ON theirs.doctor_id = mine.doctor_id OR theirs.legacy_user_id = mine.legacy_user_id
JOIN doctor_migration.runs AS later ON later.run_id = theirs.run_id
JOIN doctor_migration.runs AS this ON this.run_id = mine.run_id
WHERE mine.run_id = %(run_id)s
  AND later.run_id <> this.run_id
  AND later.started_at >= this.started_at
  AND later.rolled_back_at IS NULL
GROUP BY later.run_id, later.started_at
ORDER BY later.started_at DESC;
