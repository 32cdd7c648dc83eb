"""Generated worlds: a legacy source full of the traps step 1.1 must avoid, and a Supabase
target as the profile migration left it. Used by `doctor-migration demo` and by the tests.

The generator knows which users are clean by construction, so tests can hold the plan's SQL
against an answer that was not computed by that SQL.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.resources import files

import psycopg
from psycopg import sql

from doctor_migration.names import EXPECTED_COUNT

# No name here contains "test" or "demo": those are step 1.1's test-account rule.
FIRST_NAMES = [
    "Amelia", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Keiko", "Luis", "Maya", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva",
    "Tanaka", "Urban", "Varga", "Weber", "Xu", "Young", "Zimmer",
]
EPOCH = datetime(2015, 1, 1, tzinfo=timezone.utc)


@dataclass
class LegacyUser:
    """One auth_user row and what hangs off it."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    is_active: bool = True
    date_joined: datetime = EPOCH
    last_login: datetime | None = None
    has_settings: bool = True
    offices: int = 1
    patients: list[bool | None] = field(default_factory=lambda: [False])  # archived flags
    kind: str = "clean"  # why the generator made it: "clean" or the trap's name


@dataclass
class LegacyWorld:
    """The users of a generated source, with the answer step 1.1 must give."""

    users: list[LegacyUser] = field(default_factory=list)

    def add(self, **kw) -> LegacyUser:
        uid = len(self.users) + 1
        kw.setdefault("username", f"user{uid}")
        user = LegacyUser(id=uid, **kw)
        self.users.append(user)
        return user

    @property
    def clean_ids(self) -> list[int]:
        return sorted(u.id for u in self.users if u.kind == "clean")

    def by_kind(self, kind: str) -> list[LegacyUser]:
        return [u for u in self.users if u.kind == kind]

    def user(self, uid: int) -> LegacyUser:
        return self.users[uid - 1]


def generate_world(n_clean: int = EXPECTED_COUNT, seed: int = 2025) -> LegacyWorld:
    """n_clean clean doctors among the traps of step 1.1, all deterministic from the seed."""
    rng = random.Random(seed)
    world = LegacyWorld()

    def when(days: int) -> datetime:
        return EPOCH + timedelta(days=rng.randrange(days), seconds=rng.randrange(86400))

    def person(i: int) -> tuple[str, str]:
        return FIRST_NAMES[i % len(FIRST_NAMES)], f"{LAST_NAMES[(i // 26) % 26]}{i // 676 or ''}"

    def patients(active: int, archived: int = 0, null_share: float = 0.3) -> list[bool | None]:
        flags = [None if rng.random() < null_share else False for _ in range(active)]
        return flags + [True] * archived

    def clean(i: int, **kw) -> LegacyUser:
        first, last = person(i)
        defaults = dict(
            first_name=first, last_name=last,
            email=f"{first}.{last}.{i}@smile{i % 7}.example.com".lower(),
            date_joined=when(3000), last_login=when(3600),
            has_settings=rng.random() < 0.8, offices=rng.choice([0, 1, 1, 1, 2, 3]),
            patients=patients(rng.randint(1, 25), rng.randint(0, 3)),
        )
        defaults.update(kw)
        if not defaults["has_settings"] and defaults["offices"] == 0:
            defaults["offices"] = 1
        return world.add(**defaults)

    # Edge cases that are still clean, each exactly once (their own tests rely on them).
    specials = [
        dict(patients=[None, None]),                            # only NULL archived
        dict(patients=[True, True, None]),                      # one active patient (NULL)
        dict(has_settings=False, offices=3),                    # several offices, no settings
        dict(has_settings=True, offices=0),                     # settings only
        dict(email=""),                                         # no e-mail: first_last key
        dict(email="   "),                                      # whitespace-only e-mail
        dict(email="  Mixed.Case@Smile.Example.COM "),          # kept with original spelling
        dict(date_joined=datetime(2016, 11, 24, 23, 59, 59, tzinfo=timezone.utc)),
        dict(date_joined=datetime(2016, 11, 25, 0, 0, 1, tzinfo=timezone.utc)),
        dict(last_login=None),
    ]
    for i in range(n_clean):
        clean(i, **(specials[i] if i < len(specials) else {}))
    winners = list(world.users)

    # Duplicates that lose step 1.1's DISTINCT ON, one per tie-break.
    pool = winners[len(specials):]
    for n, w in enumerate(rng.sample(pool, k=min(12, len(pool)))):
        base = dict(first_name=w.first_name, last_name=w.last_name, has_settings=True, offices=1,
                    date_joined=when(3000))
        email = f"  {w.email.upper()} " if n % 2 else w.email.title()
        rule = n % 3
        if rule == 0:    # fewer active patients
            world.add(**base, email=email, last_login=when(4000),
                      patients=[False] * (len([p for p in w.patients if p is not True]) - 1)
                      or [True], kind="duplicate_fewer_patients")
        elif rule == 1:  # same patients, older login
            w.last_login = w.last_login or when(3600)
            world.add(**base, email=email, last_login=w.last_login - timedelta(days=1),
                      patients=[False] * len([p for p in w.patients if p is not True]),
                      kind="duplicate_older_login")
        else:            # same patients and login, higher id
            world.add(**base, email=email, last_login=w.last_login,
                      patients=[False] * len([p for p in w.patients if p is not True]),
                      kind="duplicate_higher_id")
    # A no-e-mail duplicate by first_last name, with fewer patients.
    for no_email in [u for u in winners if u.email == ""]:
        world.add(first_name=f" {no_email.first_name.upper()}",
                  last_name=no_email.last_name.lower(),
                  email="", patients=[False], kind="duplicate_by_name")

    # Users that step 1.1 excludes.
    def trap(kind: str, i: int, **kw) -> None:
        first, last = person(10_000 + i)
        spec = dict(first_name=first, last_name=last,
                    email=f"u{len(world.users) + 1}@other.example.com",
                    date_joined=when(3000), last_login=when(3600), has_settings=True, offices=1,
                    patients=patients(rng.randint(1, 10)), kind=kind)
        spec.update(kw)
        world.add(**spec)

    for i in range(6):
        trap("inactive", i, is_active=False)
        trap("no_settings_no_office", i, has_settings=False, offices=0)
        trap("only_archived_patients", i, patients=[True] * rng.randint(1, 5))
        trap("no_patients", i, patients=[])
    for i, spec in enumerate([
        dict(email="qa.test@smile1.example.com"),
        dict(email="Dr.DEMO@smile2.example.com"),
        dict(first_name="Test"),
        dict(last_name="Contest"),
        dict(email="someone@brius.com"),
        dict(email="lab@mechanodontics.com"),
    ]):
        trap("test_account", i, **spec)
    return world


def _contract(name: str) -> str:
    return files("doctor_migration").joinpath("demo", name).read_text()


def write_legacy(conn: psycopg.Connection, world: LegacyWorld, offices: int = 25) -> None:
    """Create the contract's legacy schema and fill it with `world`."""
    with conn.transaction():
        conn.execute(_contract("legacy_source.sql"))
        with conn.cursor().copy("COPY dispatch_office (id, name) FROM STDIN") as copy:
            for o in range(1, offices + 1):
                copy.write_row((o, f"Office {o}"))
        with conn.cursor().copy(
            "COPY auth_user (id, password, last_login, is_superuser, username, first_name, "
            "last_name, email, is_staff, is_active, date_joined) FROM STDIN"
        ) as copy:
            for u in world.users:
                copy.write_row((u.id, "!", u.last_login, False, u.username, u.first_name,
                                u.last_name, u.email, False, u.is_active, u.date_joined))
        with conn.cursor().copy("COPY dispatch_usersetting (user_id) FROM STDIN") as copy:
            for u in world.users:
                if u.has_settings:
                    copy.write_row((u.id,))
        with conn.cursor().copy(
                "COPY dispatch_office_doctors (office_id, user_id) FROM STDIN") as copy:
            for u in world.users:
                for k in range(u.offices):
                    copy.write_row(((u.id + k) % offices + 1, u.id))
        with conn.cursor().copy(
            "COPY dispatch_patient (doctor_id, first_name, last_name, archived) FROM STDIN"
        ) as copy:
            for u in world.users:
                for k, archived in enumerate(u.patients):
                    copy.write_row((u.id, f"Patient{k}", f"Of{u.id}", archived))
            copy.write_row((None, "Nobody's", "Patient", None))
        for table in ("auth_user", "dispatch_office"):
            conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                                 "(SELECT max(id) FROM {}))").format(sql.Identifier(table)),
                         (table,))


@dataclass
class TargetWorld:
    """What the generated target holds besides migrated doctors."""

    native_doctor_ids: list[uuid.UUID]
    profile_ids: dict[int, uuid.UUID]


def write_target(conn: psycopg.Connection, world: LegacyWorld, native: int = 5,
                 seed: int = 7, owner: str = "postgres") -> TargetWorld:
    """A Supabase project after the profile migration, written through `conn`, a superuser
    (supabase_admin) connection to an empty database on a server with Supabase's roles
    (supabase_roles.sql): Supabase's auth schema, then the contract's tables created by `owner`
    (`postgres`, as in Supabase's SQL editor, or `supabase_admin` as in older projects) with
    policies and triggers; an Auth user and a doctor profile for every legacy user who has a
    patient (names and e-mails respelled in case and spacing; Auth keeps e-mails lower-case),
    patient and admin profiles, doctors created natively in Supabase, and a table that
    references doctors.id."""
    rng = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    profiles = []
    profile_ids: dict[int, uuid.UUID] = {}
    for u in world.users:
        if not u.patients:
            continue
        profile_ids[u.id] = new_id()
        first = u.first_name.upper() if u.id % 3 == 0 else u.first_name
        email = f" {u.email.strip().upper()}" if u.id % 4 == 0 else u.email.strip()
        profiles.append((profile_ids[u.id], u.id, first, u.last_name, email, "doctor"))
    for k in range(20):
        profiles.append((new_id(), 900_000 + k, f"Pat{k}", "Ient",
                         f"patient{k}@mail.example.com", "patient"))
    profiles.append((new_id(), None, "Ada", "Admin", "admin@practice.example.com", "admin"))
    natives = [(new_id(), f"Native{k}", "Supabase", f"native{k}@practice.example.com")
               for k in range(native)]
    as_owner = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner))
    created = datetime.now(timezone.utc)
    with conn.transaction():
        conn.execute(_contract("supabase_platform.sql"))
        with conn.cursor().copy("COPY auth.users (id, aud, role, email, created_at, updated_at) "
                                "FROM STDIN") as copy:
            for pid, _, _, _, email, _ in profiles:
                copy.write_row((pid, "authenticated", "authenticated",
                                email.strip().lower() or None, created, created))
            for pid, _, _, email in natives:
                copy.write_row((pid, "authenticated", "authenticated", email, created,
                                created))
        conn.execute(as_owner)
        conn.execute(_contract("supabase_target.sql"))
        conn.execute(_contract("supabase_app.sql"))
        with conn.cursor().copy(
            "COPY public.profiles (id, legacy_user_id, first_name, last_name, email, "
            "profile_type) FROM STDIN"
        ) as copy:
            for row in profiles:
                copy.write_row(row)
        native_ids = []
        for pid, first, last, email in natives:
            conn.execute(
                "INSERT INTO public.profiles (id, first_name, last_name, email, profile_type) "
                "VALUES (%s, %s, %s, %s, 'doctor')", (pid, first, last, email))
            did = conn.execute(
                "INSERT INTO public.doctors (profile_id, specialty, bio) "
                "VALUES (%s, 'Orthodontics', 'Joined after the cut-over') RETURNING id",
                (pid,),
            ).fetchone()[0]
            conn.execute("INSERT INTO public.appointments (doctor_id, starts_at) "
                         "VALUES (%s, now())", (did,))
            native_ids.append(did)
        conn.execute("RESET ROLE")
    return TargetWorld(native_doctor_ids=native_ids, profile_ids=profile_ids)
