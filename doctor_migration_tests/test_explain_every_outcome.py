"""Users step 1.1 merges under a blank e-mail are named by a warning, and `explain` says every
outcome in exact sentences: each exclusion, duplicates, blank e-mail merges, the gates a
clean doctor stops a run at, and what each run did to its row; every time in UTC, ISO 8601."""

import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from doctor_migration import cli
from doctor_migration.demo.world import EPOCH, LegacyUser, generate_world
from doctor_migration.names import EXIT_STOPPED
from doctor_migration_tests.helpers import lone_clean_ids, make_databases, migrate

# Every word ending in "ed" that explain may print: a typo such as "deleteed" is not one.
PAST_FORMS = {"migrated", "duplicated", "archived", "inserted", "updated", "deleted", "rolled",
              "staged", "merged", "created"}
ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def facts(u: LegacyUser, **changed) -> str:
    """explain's second line, from the generated world (not from the tool's SQL)."""
    active = changed.get("is_active", u.is_active)
    return (f"  active: {yes(active)}; settings: {yes(u.has_settings)}; "
            f"office: {yes(u.offices > 0)}; "
            f"active patients: {sum(1 for p in u.patients if p is not True)}; "
            f"archived patients: {sum(1 for p in u.patients if p is True)}; "
            f"last login: {utc(u.last_login) if u.last_login else 'never'}")


@pytest.fixture
def blank_dbs(servers, monkeypatch):
    """The small world plus a user whose e-mail is two spaces: user 6's is three, user 5's is
    ''. Step 1.1 keys both whitespace-only e-mails as '' and keeps user 6; user 5 is keyed by
    name. The newcomer has one patient and never logged in, so it loses every tie-break."""
    world = generate_world(40, seed=11)
    assert (world.user(5).email, world.user(6).email) == ("", "   ")
    world.add(first_name="Bianca", last_name="Lindqvist", email="  ", last_login=None,
              has_settings=True, offices=1, patients=[False], kind="duplicate_blank_email")
    dbs = make_databases(servers, world)
    monkeypatch.setenv("SOURCE_DATABASE_URL", dbs.source_url)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", dbs.target_url)
    return dbs


def test_a_normal_world_passes_the_blank_email_check(small_dbs):
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    assert ("| clean_doctors | no_users_merged_under_a_blank_email | passed | 0 users merged "
            "under a blank e-mail by step 1.1's de-duplication |") in outcome.report


def test_explain_renders_every_outcome(blank_dbs, capsys, monkeypatch):
    dbs, world = blank_dbs, blank_dbs.world
    blank = world.by_kind("duplicate_blank_email")[0].id
    lone = [uid for uid in lone_clean_ids(world) if uid not in (5, 6, 10)]
    gone, aged, same, dave, noprof, twice, renamed, signed = lone[:8]
    outputs = []

    def explain(uid: int, *flags: str, code: int = 0) -> str:
        capsys.readouterr()  # what the commands before printed
        assert cli.main(["explain", str(uid), *flags]) == code
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        return captured.out if code == 0 else captured.err

    def lines(*parts: str) -> str:
        return "\n".join(parts) + "\n"

    def target_rows(query: str, *params) -> list[tuple]:
        with dbs.target() as conn:
            return conn.execute(query, params).fetchall()

    def stage_line() -> str:
        run_id, started = target_rows(
            "SELECT run_id, started_at FROM doctor_migration.stages WHERE command = 'run'")[0]
        return f"  as of: run {run_id} read the source at {utc(started)}"

    def row_line(uid: int) -> str:
        did, number, pid, created, updated = target_rows(
            "SELECT id, doctor_number, profile_id, created_at, updated_at FROM public.doctors "
            "WHERE legacy_user_id = %s", uid)[0]
        return f"  doctors row {did} ({number}, profile {pid}), created {utc(created)}, " \
               f"updated {utc(updated)}"

    def runs() -> list[str]:
        """Each ledger run as explain names it, oldest first."""
        return [f"  run {run_id} ({utc(started)})" for run_id, started in target_rows(
            "SELECT run_id, started_at FROM doctor_migration.runs ORDER BY started_at")]

    # Before any command staged the source: explain reads the source as it is now.
    monkeypatch.delenv("SUPABASE_DATABASE_URL")
    now = "  as of: the source as it is now (no command has staged it yet)"
    assert explain(blank) == lines(
        f"legacy user {blank}: not migrated: merged because both e-mails are blank: step 1.1 "
        "took it for a duplicate by e-mail of user 6, which it kept",
        facts(world.user(blank)), now)
    assert explain(99999, code=2) == \
        "doctor-migration: error: the source has no auth_user with id 99999\n"
    monkeypatch.setenv("SUPABASE_DATABASE_URL", dbs.target_url)
    assert explain(1) == lines(
        "legacy user 1: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(world.user(1)), now, "  no doctors row in the target")

    # Run 1 inserts every clean doctor, and warns of the blank e-mail merge.
    assert cli.main(["run", "--expected-count", "40"]) == 0
    out = capsys.readouterr().out
    assert ("  [warn] check no_users_merged_under_a_blank_email: 2 users merged under a blank "
            f"e-mail by step 1.1's de-duplication: kept 6, dropped {blank}\n") in out
    assert ("| clean_doctors | no_users_merged_under_a_blank_email | warning | 2 users merged "
            f"under a blank e-mail by step 1.1's de-duplication: kept 6, dropped {blank}; "
            f"offending legacy user ids: 6 {blank} |") in out
    [run1] = runs()
    assert explain(blank) == lines(
        f"legacy user {blank}: not migrated: merged because both e-mails are blank: step 1.1 "
        "took it for a duplicate by e-mail of user 6, which it kept",
        facts(world.user(blank)), stage_line(), "  no doctors row in the target")
    assert explain(6) == lines(
        "legacy user 6: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(world.user(6)), f"  kept over user {blank}: merged because both e-mails are blank",
        stage_line(), row_line(6), f"{run1} inserted it")
    assert explain(5) == lines(
        "legacy user 5: migrated (a clean doctor of step 1.1, de-duplicated by name)",
        facts(world.user(5)), stage_line(), row_line(5), f"{run1} inserted it")
    assert explain(10) == lines(  # never logged in
        "legacy user 10: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(world.user(10)), stage_line(), row_line(10), f"{run1} inserted it")
    assert "last login: never" in outputs[-1]
    for kind, reason, rule in [
        ("inactive", "inactive", "auth_user.is_active is false"),
        ("no_settings_no_office", "no settings and no office",
         "no dispatch_usersetting row and no office assignment"),
        ("no_patients", "no active patients", "no patient with archived false or NULL"),
        ("only_archived_patients", "no active patients", "no patient with archived false or NULL"),
        ("test_account", "test/demo/internal account",
         "e-mail or name matches step 1.1's test/demo/internal rule"),
    ]:
        u = world.by_kind(kind)[0]
        assert explain(u.id) == lines(
            f"legacy user {u.id}: not migrated: {reason} ({rule})", facts(u), stage_line(),
            "  no doctors row in the target"), kind
    for kind, by in [("duplicate_older_login", "e-mail"), ("duplicate_by_name", "name")]:
        u = world.by_kind(kind)[0]
        kept = next(w.id for w in world.users if w.kind == "clean" and (
            w.email.strip().lower() == u.email.strip().lower() if by == "e-mail" else
            (w.first_name.strip().lower(), w.last_name.lower())
            == (u.first_name.strip().lower(), u.last_name.lower())))
        assert explain(u.id) == lines(
            f"legacy user {u.id}: not migrated: duplicate by {by} of user {kept}, which step "
            "1.1 kept (more active patients, then the later login, then the lower id)",
            facts(u), stage_line(), "  no doctors row in the target"), kind
    u = world.user(1)
    assert explain(1, "--show-pii") == lines(
        "legacy user 1: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(u), stage_line(), f"  name: {u.first_name} {u.last_name}; e-mail: {u.email!r}",
        row_line(1), f"{run1} inserted it")

    # Run 2: one doctor is no longer clean (deleted), one changed (updated), one did not.
    with dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
        conn.execute("UPDATE auth_user SET date_joined = %s WHERE id = %s",
                     (EPOCH - timedelta(days=3000), aged))
    assert migrate(39).success
    run1, run2 = runs()
    assert explain(gone) == lines(
        f"legacy user {gone}: not migrated: inactive (auth_user.is_active is false)",
        facts(world.user(gone), is_active=False), stage_line(), "  no doctors row in the target",
        f"{run2} deleted it", f"{run1} inserted it")
    assert explain(aged) == lines(
        f"legacy user {aged}: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(world.user(aged)), stage_line(), row_line(aged), f"{run2} updated it",
        f"{run1} inserted it")
    assert explain(same) == lines(  # unchanged: run 2 did not write it
        f"legacy user {same}: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        facts(world.user(same)), stage_line(), row_line(same), f"{run1} inserted it")
    assert cli.main(["rollback", "--last"]) == 0
    capsys.readouterr()
    assert explain(gone) == lines(
        f"legacy user {gone}: not migrated: inactive (auth_user.is_active is false)",
        facts(world.user(gone), is_active=False), stage_line(), row_line(gone),
        f"{run2} deleted it (rolled back)", f"{run1} inserted it")

    # Run 3 stops at the gates before any write: explain names each gate and why.
    with dbs.source() as conn:
        conn.execute("UPDATE auth_user SET email = 'Dave@BRIUS.COM' WHERE id = %s", (dave,))
    with dbs.target() as conn:
        conn.execute("UPDATE public.profiles SET email = 'dave@brius.com' "
                     "WHERE legacy_user_id = %s", (dave,))
        conn.execute("UPDATE public.profiles SET profile_type = 'patient' "
                     "WHERE legacy_user_id = %s", (noprof,))
        conn.execute(
            "WITH u AS (INSERT INTO auth.users (id, aud, role) "
            "VALUES (gen_random_uuid(), 'authenticated', 'authenticated') RETURNING id) "
            "INSERT INTO public.profiles (id, legacy_user_id, first_name, last_name, email, "
            "profile_type) SELECT u.id, legacy_user_id, first_name, last_name, email, "
            "profile_type FROM u, public.profiles WHERE legacy_user_id = %s", (twice,))
        conn.execute("UPDATE public.profiles SET first_name = 'Someone' "
                     "WHERE legacy_user_id = %s", (renamed,))
        # A doctor who signed up in the app: a native doctors row on the profile.
        native = conn.execute(
            "INSERT INTO public.doctors (profile_id) SELECT id FROM public.profiles "
            "WHERE legacy_user_id = %s RETURNING profile_id, id", (signed,)).fetchone()
    stopped = migrate(39)
    assert stopped.exit_code == EXIT_STOPPED
    assert ("| clean_doctors | no_users_merged_under_a_blank_email | warning | 2 users merged "
            f"under a blank e-mail by step 1.1's de-duplication: kept 6, dropped {blank}"
            ) in stopped.report
    assert ("check no_users_merged_under_a_blank_email warned: 2 users merged under a blank "
            f"e-mail by step 1.1's de-duplication: kept 6, dropped {blank}; offending legacy "
            f"user ids: 6 {blank}\n| legacy user id | problem |\n|---|---|\n"
            f"| 6 | kept; merged with {blank} because their e-mails are blank |\n"
            f"| {blank} | dropped as a duplicate by e-mail of 6: merged because both e-mails are "
            "blank |") in stopped.failures
    stop = "a clean doctor of step 1.1 (de-duplicated by e-mail), but a run stops before any " \
           "write because of it"
    for uid, gate, problem, rule in [
        (dave, "no_clean_doctor_fails_step_3_3", 'profile e-mail ends with "brius.com"',
         "step 3.3's test, demo and internal e-mail rules"),
        (noprof, "every_clean_doctor_has_one_profile", "no doctor profile",
         "step 1.3: exactly one doctor profile per clean doctor"),
        (twice, "every_clean_doctor_has_one_profile", "2 doctor profiles",
         "step 1.3: exactly one doctor profile per clean doctor"),
        (renamed, "profiles_match_source", "first_name differ",
         "step 1.3: the profile's names and e-mail equal the source's"),
        (signed, "no_profile_has_another_doctor",
         f"profile {native[0]} already has doctors row {native[1]} (native)",
         "step 1.3: one doctors row per doctor profile"),
    ]:
        assert explain(uid) == lines(
            f"legacy user {uid}: {stop}", facts(world.user(uid)),
            f"  a run stops at the gate {gate} before any write: {problem} ({rule})",
            stage_line(), row_line(uid), f"{run1} inserted it"), gate
    assert explain(99999, code=2) == (
        "doctor-migration: error: the source had no auth_user with id 99999 when "
        + stage_line().removeprefix("  as of: ") + "\n")

    # No typo-like word (ids aside: a profile's uuid may read "bded"), and every time printed
    # is UTC in ISO 8601.
    text = "\n".join(outputs)
    words = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "", text)
    assert not re.search(r"\w(eed|ded|ted)ed\b|\w{3}eed\b", words), words
    assert set(re.findall(r"\b[a-z]+ed\b", words)) <= PAST_FORMS, \
        set(re.findall(r"\b[a-z]+ed\b", words)) - PAST_FORMS
    times = re.findall(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d[^\s,)]*", text)
    assert times and all(re.fullmatch(ISO_UTC, t) for t in times), times
    with psycopg.connect(dbs.target_url) as conn:  # run 3 wrote nothing
        assert conn.execute("SELECT count(*) FROM doctor_migration.runs").fetchone()[0] == 2
