-- Only for `explain --show-pii`: who the legacy user is.
SELECT first_name, last_name, email FROM auth_user WHERE id = %(user_id)s;
