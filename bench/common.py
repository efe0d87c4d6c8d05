"""What the bench scripts share: the throw-away accounts, running ``flask``, the machine line.

Imported by ``run.py``, ``queries.py``, ``reports.py`` and ``search.py``, each run as a script
(``.venv/bin/python bench/….py``), so this folder is on ``sys.path``. Standard library only.
"""

# Every command below is a fixed argument list run without a shell.
# ruff: noqa: S603

import datetime as dt
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A fixed key: the server is not in debug mode (that would change what is measured).
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
PASSWORD = "bench password, long enough"  # noqa: S105 (throw-away accounts)
ADMIN = "bench-admin@example.org"
COORDINATOR = "bench-kyiv@example.org"


def flask(env: dict, *args: str, stdin: str | None = None, debug: bool = False) -> str:
    """Run ``flask --app lepsite …`` and return its output; stop on failure.

    From the instance's folder, not the project: the commands work from anywhere."""
    env = dict(env)
    if debug:  # the demo commands refuse to run outside debug
        env["FLASK_DEBUG"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "lepsite", *args],
        cwd=Path(env["LEPSITE_INSTANCE_PATH"]).parent,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"failed: flask {' '.join(args)}\n{done.stdout}{done.stderr}")
    return done.stdout


def machine() -> str:
    """CPU model and count, RAM, Python, SQLite, kernel and time, for the report."""
    cpu = platform.processor() or "unknown CPU"
    memory = ""
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    if meminfo.is_file():
        memory = f", {int(meminfo.read_text().split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}, "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def load_average() -> str:
    """Other work on the machine skews the numbers; this shows how much there was."""
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
