"""Time every admin list, dashboard, search and report query at 100,000 and 1,000,000 rows.

Run from anywhere with the project's virtualenv: ``.venv/bin/python bench/queries.py``
(SQLite), or with ``--database-uri postgresql+psycopg://…`` (PostgreSQL; the database is
emptied first with ``--wipe-database``). For each size it builds an instance the way an
operator would (``flask db upgrade``, ``flask users create``, ``flask demo seed-bulk``), then
in this process, on one database connection, runs each query as the page runs it
(``lepsite.admin.queries``: the count and one page of 50, or the dashboard's counts; the
report figures of ``lepsite.reports.queries.BENCH_QUERIES`` when that module exists) and
prints the median and 95th percentile in milliseconds as a Markdown table. See bench/README.md.
"""

# Every command below is a fixed argument list run without a shell.
# ruff: noqa: S603

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ADMIN, COORDINATOR, PASSWORD, ROOT, SECRET_KEY, flask, load_average, machine

sys.path.insert(0, str(ROOT))

GOAL_MS = 50.0
GOAL_RATIO = 1.5
# Each query's runs are made in this many turns per size (see run_sizes).
ROUNDS = 5


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; ``--help`` describes it."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="numbers of applications to measure at, smallest first",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=200,
        help="timed runs of each query (with 40, two slow runs in a row decide the p95)",
    )
    parser.add_argument(
        "--database-uri",
        default="",
        help="SQLAlchemy URI of a PostgreSQL database to use instead of SQLite files; "
        "'{size}' in it is replaced by the number of applications, so that each size keeps "
        "its own database between runs",
    )
    parser.add_argument(
        "--wipe-database",
        action="store_true",
        help="drop every table in --database-uri first when it does not hold the right data",
    )
    parser.add_argument(
        "--work-dir",
        default="",
        help="keep the instance folders (and SQLite files) here and reuse them on the next run "
        "when they hold the same number of applications; default: a temporary folder, removed",
    )
    parser.add_argument("--only", default="", help="run only queries whose name contains this")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- building the data


def _python(env: dict, script: str, *args: str) -> str:
    """Run a short Python script with the site's environment; its last output line."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"cannot reach the database:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


STATE_OF_DATABASE = """
import sys
from sqlalchemy import MetaData, func, inspect, select, text
from lepsite import create_app
from lepsite.extensions import db
with create_app().app_context():
    tables = inspect(db.engine).get_table_names()
    number = -1
    if "applications" in tables and "users" in tables:
        number = db.session.scalar(text("SELECT count(*) FROM applications"))
        users = db.session.scalar(text("SELECT count(*) FROM users"))
        number = number if users == 2 else -1
    if number != int(sys.argv[1]) and tables and sys.argv[2] == "wipe":
        db.session.rollback()
        meta = MetaData()
        meta.reflect(db.engine)
        meta.drop_all(db.engine)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        tables = inspect(db.engine).get_table_names()
    print(number if number == int(sys.argv[1]) else -len(tables) - 1)
"""


def prepare(env: dict, size: int, wipe: bool) -> float:
    """Schema, two accounts and ``size`` applications, unless they are there already;
    returns the seconds the seeding took (0 when reused)."""
    sqlite = "LEPSITE_SQLALCHEMY_DATABASE_URI" not in env
    state = int(_python(env, STATE_OF_DATABASE, str(size), "wipe" if wipe else "keep"))
    if state == size:
        print(f"  reusing the {size:,} applications already there", flush=True)
        flask(env, "db", "upgrade")  # the migrations since it was seeded, if any
        return 0.0
    if sqlite and state != -1:  # our own folder: start it again
        folder = Path(env["LEPSITE_INSTANCE_PATH"])
        shutil.rmtree(folder)
        folder.mkdir()
    elif state != -1:
        sys.exit("the database is not empty: pass --wipe-database to empty it")
    flask(env, "db", "upgrade")
    for email, role, extra in (
        (ADMIN, "admin", []),
        (COORDINATOR, "coordinator", ["--partnership", "kyiv"]),
    ):
        flask(
            env,
            "users",
            "create",
            "--email",
            email,
            "--name",
            f"Bench {role}",
            "--role",
            role,
            *extra,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    print(f"  seeding {size:,} applications …", flush=True)
    started = time.perf_counter()
    output = flask(env, "demo", "seed-bulk", "--applications", str(size), debug=True)
    print("  " + output.strip().splitlines()[-1], flush=True)
    return time.perf_counter() - started


# ---------------------------------------------------------------- the queries


def list_query(user_email: str, **args) -> Callable[[], object]:
    """The applications page's reads: the count and one page of 50, as the view runs them."""
    from werkzeug.datastructures import MultiDict

    from lepsite.admin import queries

    page = int(args.pop("page", 1))

    def run():
        user = _user(user_email)
        filters = queries.Filters.from_args(MultiDict(args))
        return queries.list_page(user, filters, page, 50)  # as views.applications

    return run


def dashboard_query(user_email: str) -> Callable[[], object]:
    """The dashboard's counts per state."""
    from lepsite.admin import queries

    return lambda: queries.counts_by_state(_user(user_email))


_users: dict = {}


def _user(email: str):
    """The signed-in user, loaded once (the request loads it from the session)."""
    from sqlalchemy import select

    from lepsite.extensions import db
    from lepsite.models import User

    key = (str(db.engine.url), email)  # one user per database: the sizes take turns
    if key not in _users:
        _users[key] = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(_users[key])
    return db.session.merge(_users[key], load=False)


def sample_values() -> dict:
    """A reference and an e-mail address that exist, from the middle of the table."""
    from sqlalchemy import func, select

    from lepsite.extensions import db
    from lepsite.models import Application

    middle = db.session.scalar(select(func.max(Application.id))) // 2
    row = db.session.get(Application, middle)
    return {"reference": row.reference, "email": row.email}


def all_queries(sample: dict) -> list[tuple[str, Callable[[], object]]]:
    """Every query to time: (name, function)."""
    from lepsite.models import STATES

    chosen = []
    for who, email in (("admin", ADMIN), ("coordinator", COORDINATOR)):
        chosen.append((f"{who} dashboard counts", dashboard_query(email)))
        chosen.append((f"{who} list", list_query(email)))
        for sort in ("oldest", "name", "due"):
            chosen.append((f"{who} list, sort={sort}", list_query(email, sort=sort)))
        chosen.append((f"{who} list, page 10", list_query(email, page=10)))
        for state in ("open", *STATES):
            chosen.append((f"{who} list, state={state}", list_query(email, state=state)))
        chosen.append(
            (f"{who} list, type=education", list_query(email, organisation_type="education"))
        )
        chosen.append((f"{who} list, taken by no one", list_query(email, assigned="none")))
        chosen.append((f"{who} list, taken by me", list_query(email, assigned="me")))
    chosen.append(("admin list, partnership=kyiv", list_query(ADMIN, partnership="kyiv")))
    searches = [
        ("reference", sample["reference"]),
        ("e-mail", sample["email"]),
        ("e-mail not there", "nobody.here@example.net"),
        ("common word 'centre'", "centre"),
        ("common name 'Olena'", "Olena"),
        ("two words 'olena kovalenko'", "olena kovalenko"),
        ("part of a reference", sample["reference"][-6:]),
        ("name not there", "Zzyzx Quux"),
        ("Cyrillic 'Олена'", "Олена"),
        ("Cyrillic 'Київ'", "Київ"),
        ("2 characters 'ko'", "ko"),
        ("1 character 'k' (message)", "k"),
        ("FTS syntax 'NEAR(\"a\" -b)'", 'NEAR("a" -b)'),
    ]
    for label, typed in searches:
        chosen.append((f"admin search: {label}", list_query(ADMIN, q=typed)))
    for label, typed in searches[:5]:
        chosen.append((f"coordinator search: {label}", list_query(COORDINATOR, q=typed)))
    chosen.append(("admin search 'olena', state=open", list_query(ADMIN, q="olena", state="open")))
    chosen.append(("admin search 'olena', sort=name", list_query(ADMIN, q="olena", sort="name")))
    try:
        from lepsite.reports.queries import BENCH_QUERIES
    except ImportError:
        BENCH_QUERIES = []  # noqa: N806 (the reports are another issue's; absent is fine)
    chosen += [(name, function) for name, function in BENCH_QUERIES]
    return chosen


def measure(function: Callable[[], object], runs: int) -> list[float]:
    """``runs`` calls, in ms; each call ends its transaction, as a request does."""
    from lepsite.extensions import db

    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        db.session.rollback()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run_sizes(envs: dict[int, dict], args) -> dict[int, dict[str, tuple[float, float]]]:
    """Time every query against each instance that ``envs`` describes, the sizes taking
    turns: each query runs a share of its runs on one size, then on the next, ``ROUNDS``
    times, so that a slow minute of a shared machine falls on both sizes alike and does not
    make the ratio. Returns {size: {name: (median, p95)}}."""
    from lepsite import create_app
    from lepsite.extensions import db

    apps, chosen = {}, {}
    for size, env in envs.items():
        os.environ.update(env)
        apps[size] = create_app(
            {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}, "TESTING": False}
        )
        with apps[size].app_context(), apps[size].test_request_context("/admin/"):
            chosen[size] = dict(all_queries(sample_values()))
    names = [name for name in chosen[min(envs)] if not args.only or args.only in name]
    share = max(1, args.runs // ROUNDS)
    results: dict[int, dict] = {size: {} for size in envs}
    for name in names:
        samples: dict[int, list[float]] = {size: [] for size in envs}
        for turn in range(ROUNDS):
            for size, app in apps.items():
                with app.app_context(), app.test_request_context("/admin/"):
                    if turn == 0:
                        measure(chosen[size][name], 2)  # untimed: caches, prepared plans
                    samples[size] += measure(chosen[size][name], share)
        for size, found in samples.items():
            found.sort()
            p95 = found[max(0, int(len(found) * 0.95 + 0.5) - 1)]
            results[size][name] = (statistics.median(found), p95)
        cells = " | ".join(
            f"{results[size][name][0]:.1f} / {results[size][name][1]:.1f}" for size in envs
        )
        print(f"    {name}: {cells} ms", flush=True)
    for app in apps.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return results


# ---------------------------------------------------------------- the report


def table(database: str, sizes: list[int], results: dict[int, dict]) -> str:
    """The Markdown table: median / p95 per size, the ratio of the p95s, and the verdict."""
    header = "| query | " + " | ".join(f"{size:,}: p50 / p95 ms" for size in sizes)
    lines = [header + " | p95 ratio | goal |", "|---|" + "---:|" * (len(sizes) + 2)]
    for name in results[sizes[0]]:
        cells, p95s = [], []
        for size in sizes:
            p50, p95 = results[size].get(name, (float("nan"),) * 2)
            cells.append(f"{p50:.1f} / {p95:.1f}")
            p95s.append(p95)
        ratio = p95s[-1] / p95s[0] if p95s[0] else float("nan")
        met = all(p95 < GOAL_MS for p95 in p95s) and ratio <= GOAL_RATIO
        verdict = "met" if met else "**not met**"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f} | {verdict} |")
    return f"{database}\n\n" + "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    keep = bool(args.work_dir)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="lepsite-bench-queries-"))
    work.mkdir(parents=True, exist_ok=True)
    database = "PostgreSQL" if args.database_uri else "SQLite"
    envs: dict[int, dict] = {}
    seeding = {}
    try:
        for size in sorted(args.sizes):
            folder = work / f"{database.lower()}-{size}"
            folder.mkdir(exist_ok=True)
            env = {
                **os.environ,
                "LEPSITE_INSTANCE_PATH": str(folder),
                "LEPSITE_SECRET_KEY": SECRET_KEY,
                "LEPSITE_BASE_URL": "http://bench.test",
                "LEPSITE_RATELIMIT_ENABLED": "false",
            }
            env.pop("FLASK_DEBUG", None)
            if args.database_uri:
                env["LEPSITE_SQLALCHEMY_DATABASE_URI"] = args.database_uri.replace(
                    "{size}", str(size)
                )
            print(f"{database}, {size:,} applications", flush=True)
            seeding[size] = prepare(env, size, args.wipe_database)
            envs[size] = env
        print("Timing, the sizes taking turns (p50 / p95 of each size):", flush=True)
        results = run_sizes(envs, args)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"Machine: {machine()}; {load_average()}")
    for size, seconds in seeding.items():
        if seconds:
            print(f"Seeding {size:,} applications (flask demo seed-bulk) took {seconds:.0f} s")
    print(f"{args.runs} timed runs per query and size, in {ROUNDS} turns; in-process.\n")
    print(table(f"### {database}", sorted(args.sizes), results))


if __name__ == "__main__":
    main()
