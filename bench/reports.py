"""Time every report query (``lepsite.reports.queries.BENCH_QUERIES``) at 100,000 and 1,000,000
applications, with one database connection, and print the 95th percentiles as Markdown.

Run from anywhere with the project's virtualenv::

    .venv/bin/python bench/reports.py                       # SQLite, 100,000 then 1,000,000
    .venv/bin/python bench/reports.py --applications 100000 # one size only
    .venv/bin/python bench/reports.py \\
        --database-uri postgresql+psycopg://lep:lep@127.0.0.1/lep_bench --wipe-database

For each size it makes a throw-away instance folder, runs ``flask db upgrade`` and
``flask demo seed-bulk --applications N`` (which ends with ``flask reports rebuild``'s work),
then, in this process, calls each query ``--repeat`` times after a few warm-up calls, for
three kinds of reader: an admin with no filter (the last twelve months), an admin over three
years that start and end inside months, a coordinator of one partnership with one
organisation type. One thread: every call uses the one pooled connection. The last table
puts both sizes side by side with their ratio (the goal: under 50 ms, and the larger size
at most 1.5 times the smaller). A PostgreSQL database must be empty, or ``--wipe-database``
drops every table in it first; its data is left in place afterwards.
"""

# Every command below is a fixed argument list run without a shell.
# ruff: noqa: S603

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from common import ROOT, SECRET_KEY, flask, machine

GOAL_MS = 50.0
GOAL_RATIO = 1.5


def wipe(env: dict) -> None:
    """Drop every table of the configured database (``--wipe-database``)."""
    script = (
        "from sqlalchemy import MetaData\n"
        "from lepsite import create_app\n"
        "from lepsite.extensions import db\n"
        "with create_app().app_context():\n"
        "    meta = MetaData()\n"
        "    meta.reflect(db.engine)\n"
        "    meta.drop_all(db.engine)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(env["LEPSITE_INSTANCE_PATH"]).parent,
        env=env,
        check=True,
    )


def seed(env: dict, count: int, wipe_first: bool) -> str:
    """Schema and ``count`` applications; return seed-bulk's own line (its time)."""
    if wipe_first:
        wipe(env)
    flask(env, "db", "upgrade")
    return flask(env, "demo", "seed-bulk", "--applications", str(count), debug=True).strip()


def readers(queries, today: date) -> dict[str, object]:
    """The filters each query is timed with."""
    three_years = today.replace(year=today.year - 3) + timedelta(days=14)
    return {
        "admin, last 12 months": None,
        "admin, 3 years from mid-month": queries.Filters(three_years, today, as_of=today),
        "coordinator, 1 type": queries.Filters(
            *queries.default_period(today), ("kyiv",), "ngo", as_of=today
        ),
    }


def measure(envs: list[dict], repeat: int) -> list[dict]:
    """Per database: (query, reader) -> (median, p95) in ms, timed in one fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(repeat)],
        input=json.dumps(envs),
        env=envs[0],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"timing failed:\n{done.stdout}{done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        {(query, reader): (median, p95) for query, reader, median, p95 in rows} for rows in found
    ]


def measure_here(repeat: int) -> None:
    """Time the queries in this process (``--measure``) on each database whose environment
    comes as JSON on standard input; print the results as JSON.

    With several databases the calls take turns (one on each, then again), so that whatever
    else the machine does at a moment weighs on every size alike.
    """
    sys.path.insert(0, str(ROOT))
    from lepsite import create_app
    from lepsite.extensions import db
    from lepsite.reports import queries
    from lepsite.review_clock import today

    apps = []
    for env in json.loads(sys.stdin.read()):
        os.environ.update(env)
        apps.append(create_app())
    for app in apps:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as connection:  # as autovacuum would do soon after
                    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                    for table in ("report_flows", "report_open", "report_members"):
                        connection.exec_driver_sql(f"VACUUM ANALYZE {table}")

    def call(app, query, filters) -> float:
        with app.app_context():
            started = time.perf_counter()
            query(filters)
            elapsed = time.perf_counter() - started
            db.session.rollback()
            assert db.engine.pool.checkedout() <= 1  # one connection, always the same
            return elapsed

    with apps[0].app_context():
        chosen = readers(queries, today())
    rows: list[list] = [[] for _app in apps]
    for reader, filters in chosen.items():
        for name, query in queries.BENCH_QUERIES:
            samples: list[list[float]] = [[] for _app in apps]
            for _warm in range(5):
                for app in apps:
                    call(app, query, filters)
            for _run in range(repeat):
                for index, app in enumerate(apps):
                    samples[index].append(call(app, query, filters))
            for index, taken in enumerate(samples):
                taken.sort()
                p95 = taken[max(0, int(len(taken) * 0.95) - 1)]
                rows[index].append([name, reader, statistics.median(taken) * 1000, p95 * 1000])
    print(json.dumps(rows))


def print_size(count: int, results: dict) -> None:
    print(f"\n### {count:,} applications: median / p95, ms\n")
    reader_names = list(dict.fromkeys(reader for _query, reader in results))
    print("| query | " + " | ".join(reader_names) + " |")
    print("|---|" + "---|" * len(reader_names))
    for query in dict.fromkeys(query for query, _reader in results):
        cells = ["{:.2f} / {:.2f}".format(*results[query, reader]) for reader in reader_names]
        print(f"| {query} | " + " | ".join(cells) + " |")


def print_comparison(sizes: list[int], by_size: dict[int, dict]) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"\n### p95 at {small:,} and {large:,} applications, ms (worst reader per query)\n")
    print(f"| query | {small:,} | {large:,} | ratio |")
    print("|---|---|---|---|")
    worst_ms, worst_ratio = 0.0, 0.0
    for query in dict.fromkeys(query for query, _reader in by_size[small]):
        p95 = {
            size: max(p95 for (name, _r), (_m, p95) in by_size[size].items() if name == query)
            for size in (small, large)
        }
        ratio = p95[large] / p95[small] if p95[small] else 0.0
        worst_ms, worst_ratio = max(worst_ms, *p95.values()), max(worst_ratio, ratio)
        print(f"| {query} | {p95[small]:.2f} | {p95[large]:.2f} | {ratio:.2f} |")
    verdict = "met" if worst_ms < GOAL_MS and worst_ratio <= GOAL_RATIO else "NOT met"
    print(
        f"\nSlowest p95 {worst_ms:.2f} ms, largest ratio {worst_ratio:.2f}: the goal "
        f"(< {GOAL_MS:.0f} ms, ratio ≤ {GOAL_RATIO}) is {verdict}."
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--applications",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="sizes to seed and time, smallest first",
    )
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per query")
    parser.add_argument("--database-uri", default="", help="PostgreSQL (default: SQLite)")
    parser.add_argument("--wipe-database", action="store_true", help="drop its tables first")
    parser.add_argument("--keep", action="store_true", help="keep the instance folders")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # the timing process
    args = parser.parse_args(argv)
    if args.measure:
        measure_here(args.measure)
        return

    print(f"Machine: {machine()}")
    print(f"Database: {'PostgreSQL' if args.database_uri else 'SQLite'}; {args.repeat} calls")
    print(f"Load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    envs, folders, by_size = {}, [], {}
    try:
        for count in args.applications:
            folder = Path(tempfile.mkdtemp(prefix=f"lepsite-reports-bench-{count}-"))
            folders.append(folder)
            env = {
                **os.environ,
                "LEPSITE_INSTANCE_PATH": str(folder / "instance"),
                "LEPSITE_SECRET_KEY": SECRET_KEY,
                "LEPSITE_BASE_URL": "http://bench.test",
            }
            if args.database_uri:
                env["LEPSITE_SQLALCHEMY_DATABASE_URI"] = args.database_uri
            started = time.perf_counter()
            line = seed(env, count, wipe_first=bool(args.database_uri) and args.wipe_database)
            print(f"{count:,}: {line} (whole set-up {time.perf_counter() - started:.0f} s)")
            envs[count] = env
            if args.database_uri:  # one database: each size is timed before the next replaces it
                [by_size[count]] = measure([env], args.repeat)
                args.wipe_database = True
        if not args.database_uri:  # all sizes at once, taking turns
            by_size = dict(zip(envs, measure(list(envs.values()), args.repeat), strict=True))
    finally:
        for folder in folders:
            if args.keep:
                print(f"kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
    print(f"Load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for count, results in by_size.items():
        print_size(count, results)
    if len(by_size) > 1:
        print_comparison(sorted(by_size), by_size)


if __name__ == "__main__":
    main()
