-- A limit of the server (statement_timeout, idle_in_transaction_session_timeout) as a new
-- session of the tool's role gets it from the role's, the database's or the server's settings:
-- as written, and whether it is on and shorter than the tool's own (own_limit; NULL on the
-- source, where the tool sets none). One cheap expression: a limit of 1ms must not cancel it.
SELECT current_user,
       current_database(),
       current_setting(%(name)s),
       current_setting(%(name)s)::interval > interval '0'
       AND (%(own_limit)s::interval IS NULL
            OR current_setting(%(name)s)::interval < %(own_limit)s::interval);
