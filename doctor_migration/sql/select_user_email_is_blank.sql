-- explain, before any command staged the source: whether a legacy user's e-mail is blank
-- (only whitespace), which is how step 1.1 comes to merge unrelated users "by e-mail" (see
-- select_blank_email_merges.sql). Not the e-mail itself.
-- %(whitespace)s: the characters step 1.3 trims (gates.WHITESPACE).
SELECT btrim(email, %(whitespace)s) = '' AS blank
FROM auth_user
WHERE id = %(user_id)s;
