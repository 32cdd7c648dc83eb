"""Steps 2.2 and 2.3: the field mapping, held against PostgreSQL's own arithmetic."""

from datetime import date, datetime, timedelta, timezone

import psycopg

from doctor_migration_tests.helpers import doctors, migrate, years_since

UTC = timezone.utc


def test_years_experience_counts_whole_years_to_todays_utc_midnight(small_dbs):
    """Step 2.2's AGE in UTC, on dates around today's anniversaries, leap days and the future,
    against an oracle written without PostgreSQL."""
    today = datetime.now(UTC).date()
    anniversary = datetime.combine(today, datetime.min.time(), UTC)
    samples = [datetime(2016, 11, 24, 23, 59, 59, tzinfo=UTC),
               datetime(2016, 2, 29, 12, tzinfo=UTC),
               datetime(2024, 2, 29, 0, 0, tzinfo=UTC),
               datetime(today.year + 1, 1, 1, tzinfo=UTC)]
    for years_back, delta in ((5, timedelta(0)), (5, timedelta(seconds=1)),
                              (5, -timedelta(seconds=1)), (3, timedelta(days=1)),
                              (3, -timedelta(days=1)), (0, timedelta(hours=13))):
        try:
            samples.append(anniversary.replace(year=anniversary.year - years_back) + delta)
        except ValueError:  # today is 29 February
            pass
    users = small_dbs.world.clean_ids[:len(samples)]
    with small_dbs.source() as conn:
        for uid, joined in zip(users, samples):
            conn.execute("UPDATE auth_user SET date_joined = %s WHERE id = %s", (joined, uid))
    assert migrate(40).success
    rows = {r["legacy_user_id"]: r for r in doctors(small_dbs.target_url).values()}
    for uid, joined in zip(users, samples):
        assert rows[uid]["years_experience"] == years_since(joined, today), joined
        assert rows[uid]["licensed_since"] == joined.astimezone(UTC).date(), joined


def test_migrated_rows_equal_the_plans_mapping(small_dbs):
    assert migrate(40).success
    world = small_dbs.world
    with psycopg.connect(small_dbs.source_url) as conn:
        patient_counts = dict(conn.execute(
            "SELECT doctor_id, count(*) FROM dispatch_patient "
            "WHERE archived = false OR archived IS NULL GROUP BY doctor_id").fetchall())
    with psycopg.connect(small_dbs.target_url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        expected_age = dict(conn.execute(
            "SELECT legacy_user_id, EXTRACT(YEAR FROM AGE(joined_practice_at))::int "
            "FROM public.doctors WHERE legacy_user_id IS NOT NULL").fetchall())
        profiles = dict(conn.execute(
            "SELECT legacy_user_id, id FROM public.profiles WHERE profile_type = 'doctor'"
        ).fetchall())
    rows = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
    assert len(rows) == 40
    today = datetime.now(UTC).date().isoformat()
    for row in rows.values():
        uid = row["legacy_user_id"]
        user = world.user(uid)
        assert row["profile_id"] == profiles[uid]
        assert row["doctor_id"] == uid and row["legacy_doctor_id"] == uid
        assert row["doctor_number"] == f"DOC-{uid}"
        assert row["license_number"] is None and row["npi_number"] is None
        assert row["specialty"] == "General Practice"
        assert row["board_certifications"] == {} and row["education"] == {}
        assert row["years_experience"] == expected_age[uid]
        assert row["primary_office_id"] is None
        assert row["practice_type"] == "Private Practice"
        assert row["status"] == "active"
        assert row["is_accepting_patients"] is True
        assert row["max_patient_load"] is None
        assert row["bio"] == "Migrated doctor profile"
        assert row["specialties"] == ["General Practice"]
        assert row["languages_spoken"] == ["English"]
        assert row["professional_memberships"] == {}
        assert row["consultation_duration_minutes"] == 30
        assert row["follow_up_duration_minutes"] == 15
        assert row["working_hours"] == {}
        assert row["consultation_fee"] is None
        assert row["accepts_insurance"] is True
        assert row["payment_terms"] == {}
        assert row["licensed_since"] == user.date_joined.astimezone(UTC).date()
        assert row["joined_practice_at"] == user.date_joined
        assert row["migration_metadata"] == {
            "migration_date": today,
            "source_patient_count": patient_counts[uid],
            "has_office_assignment": user.offices > 0,
            "has_settings": user.has_settings,
            "deduplication_method": "email_priority" if user.email else "name_fallback",
            "data_quality_score": "high",
        }


def test_dates_are_utc_whatever_the_source_time_zone(small_dbs):
    # Auckland is UTC+13 in November: 23:59:59 UTC is already the next day there.
    late = datetime(2016, 11, 24, 23, 59, 59, tzinfo=UTC)
    early = datetime(2016, 11, 25, 0, 0, 1, tzinfo=UTC)
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET date_joined = %s WHERE id = 1", (late,))
        conn.execute("UPDATE auth_user SET date_joined = %s WHERE id = 2", (early,))
        dbname = conn.info.dbname
        conn.execute(f"ALTER DATABASE {dbname} SET TimeZone = 'Pacific/Auckland'")
    assert migrate(40).success
    rows = {r["legacy_user_id"]: r for r in
            doctors(small_dbs.target_url, "legacy_user_id IN (1, 2)").values()}
    assert rows[1]["licensed_since"] == date(2016, 11, 24)
    assert rows[2]["licensed_since"] == date(2016, 11, 25)
    assert rows[1]["joined_practice_at"] == late
    with psycopg.connect(small_dbs.target_url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for uid in (1, 2):
            pg_years = conn.execute("SELECT EXTRACT(YEAR FROM AGE(%s::timestamptz))::int",
                                    (rows[uid]["joined_practice_at"],)).fetchone()[0]
            assert rows[uid]["years_experience"] == pg_years
