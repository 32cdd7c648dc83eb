-- The users of a generated legacy world, one row each, decided before any table is filled.
-- A session-local table of the world builder: the source only ever gets the contract's tables.
CREATE TEMP TABLE bench_users (
    id           integer PRIMARY KEY,
    first_name   text NOT NULL,
    last_name    text NOT NULL,
    email        text NOT NULL,
    is_active    boolean NOT NULL,
    date_joined  timestamptz NOT NULL,
    last_login   timestamptz,
    has_settings boolean NOT NULL,
    offices      integer NOT NULL,   -- dispatch_office_doctors rows
    n_active     integer NOT NULL,   -- patients with archived false or NULL
    n_archived   integer NOT NULL,   -- patients with archived true
    null_every   integer NOT NULL,   -- every null_every-th active patient has archived NULL
    kind         text NOT NULL       -- 'clean' or the trap it was made for
);
