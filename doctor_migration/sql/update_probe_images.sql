-- The probed row, now deleted, to be recreated as a rollback recreates a deleted row.
UPDATE probe_images SET action = 'delete';
