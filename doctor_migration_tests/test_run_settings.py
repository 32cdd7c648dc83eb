"""One setting per run (issue 21): the run-wide settings are one resource every step reads, so
the lock timeout given on the command line (or once in a launchpad) is the one every step's
transactions wait by. Where each setting sits in the launchpads: test_definitions.py."""

from psycopg import sql

from doctor_migration import cli, names
from doctor_migration_tests.helpers import migrate

# A table each step writes: the three stage tables, and public.doctors for the load.
WRITTEN = {"profile_coverage": "doctor_migration", "clean_doctors": "doctor_migration",
           "doctor_rows": "doctor_migration", "doctors": "public"}


def test_the_lock_timeout_given_reaches_every_step(small_dbs):
    assert migrate(40, dry_run=True).success  # the stage's tables exist: watch them
    with small_dbs.target() as conn:
        conn.execute("CREATE TABLE public.seen_settings "
                     "(written text, application text, lock_timeout text)")
        conn.execute(
            "CREATE FUNCTION public.record_settings() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER AS $$ BEGIN INSERT INTO public.seen_settings VALUES "
            "(TG_TABLE_NAME, current_setting('application_name'), "
            "current_setting('lock_timeout')); RETURN NULL; END $$")
        for table, schema in WRITTEN.items():
            conn.execute(sql.SQL(
                "CREATE TRIGGER record_settings AFTER INSERT ON {} FOR EACH STATEMENT "
                "EXECUTE FUNCTION public.record_settings()").format(
                    sql.Identifier(schema, table)))
    assert cli.main(["run", "--expected-count", "40", "--lock-timeout", "7s"]) == names.EXIT_OK
    with small_dbs.target() as conn:
        seen = conn.execute("SELECT written, application, lock_timeout "
                            "FROM public.seen_settings").fetchall()
    assert {(written, timeout) for written, _, timeout in seen} == {
        (table, "7s") for table in WRITTEN}
    assert all(application.startswith("doctor-migration run ") for _, application, _ in seen)
