-- Settings of the tool's own transactions: SET LOCAL semantics (is_local = true), so they end
-- with the transaction and work through a transaction pooler.
SELECT set_config('application_name', %(application_name)s, true),
       set_config('lock_timeout', %(lock_timeout)s, true),
       set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('idle_in_transaction_session_timeout', %(idle_timeout)s, true),
       set_config('TimeZone', 'UTC', true);
