-- A limit (statement_timeout, idle_in_transaction_session_timeout) as ALTER ROLE and ALTER
-- DATABASE set it for a new session of this role in this database (pg_db_role_setting, in
-- PostgreSQL's order: the role in this database, the role, the database, every role), as the
-- server writes it (set_config normalizes it, for this statement's transaction only), and
-- whether it is on and shorter than the tool's own (own_limit; NULL on the source). No row when
-- none is set there: the server's own setting applies (select_server_limit.sql). Read in a
-- session whose own statement_timeout is off, so that a limit of 1ms cannot cancel it.
WITH configured AS (
    SELECT substr(c.setting, length(%(name)s) + 2) AS value
    FROM pg_db_role_setting AS s, unnest(s.setconfig) AS c (setting)
    WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
      AND c.setting LIKE %(name)s || '=%%'
    ORDER BY s.setdatabase <> 0 AND s.setrole <> 0 DESC, s.setrole <> 0 DESC,
             s.setdatabase <> 0 DESC
    LIMIT 1
),
normalized AS (
    SELECT set_config(%(name)s, c.value, true) AS value FROM configured AS c
)
SELECT current_user,
       current_database(),
       n.value,
       n.value::interval > interval '0'
       AND (%(own_limit)s::interval IS NULL OR n.value::interval < %(own_limit)s::interval)
FROM normalized AS n;
