-- The users step 1.1 merged under a blank e-mail key, from the command's stage. The plan's
-- de-duplication keys a user by TRIM(LOWER(email)) whenever the e-mail is not '', so users
-- whose e-mails are only whitespace share one blank key and all but one are dropped as
-- "duplicate by e-mail", though they have no address in common (a user whose e-mail is ''
-- is keyed by name instead). Every user of such a group shares the key of the one kept, a
-- clean doctor whose e-mail is blank: one row per dropped user, with the user kept.
-- %(duplicate_by_email)s: the outcome (names.EXCLUSION_REASONS).
-- %(whitespace)s: the characters step 1.3 trims (gates.WHITESPACE).
SELECT s.duplicate_of AS kept_user_id, s.user_id AS dropped_user_id
FROM doctor_migration.source_users AS s
JOIN doctor_migration.clean_doctors AS c
  ON c.run_id = s.run_id AND c.user_id = s.duplicate_of
WHERE s.run_id = %(run_id)s
  AND s.outcome = %(duplicate_by_email)s
  AND btrim(c.email, %(whitespace)s) = ''
ORDER BY s.duplicate_of, s.user_id;
