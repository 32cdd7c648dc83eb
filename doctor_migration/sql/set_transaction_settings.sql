-- Settings of the tool's own transactions: SET LOCAL semantics (is_local = true), so they end
-- with the transaction and work through a transaction pooler.
-- client_connection_check_interval (PostgreSQL 14+): if the tool dies (kill -9, a lost
-- network), the server notices within a second even mid-statement or while waiting for a
-- lock, rolls the transaction back and frees its locks.
SELECT set_config('application_name', %(application_name)s, true),
       set_config('lock_timeout', %(lock_timeout)s, true),
       set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('idle_in_transaction_session_timeout', %(idle_timeout)s, true),
       set_config('client_connection_check_interval', '1s', true),
       set_config('search_path', concat_ws(', ', 'pg_catalog', nullif(current_setting('search_path'), '')), true),  -- built-ins before any schema's look-alikes
       set_config('TimeZone', 'UTC', true);
