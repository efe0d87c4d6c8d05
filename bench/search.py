"""Time site search: build the index from the real content, then run queries per language.

Run from anywhere with the project's virtualenv: ``.venv/bin/python bench/search.py``
(``--queries N`` per language, default 1,000). For each language it prints the median and the
95th percentile, in milliseconds, of
- the query on the index ("warm": words seen before, as on a running site);
- the query with the word cache emptied before each one ("cold": every word lemmatised anew);
- the whole request through Flask's test client (view, template, headers), warm.
The queries mix inflected forms, words without diacritics, several words and words found
nowhere. No network, no database queries; a throw-away instance folder.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from urllib.parse import quote

from common import ROOT, SECRET_KEY, machine

sys.path.insert(0, str(ROOT))

from lepsite.content import ContentStore  # noqa: E402
from lepsite.search import text  # noqa: E402
from lepsite.search.index import SearchIndex  # noqa: E402

QUERIES = {
    "en": [
        "partnerships",
        "partnership",
        "employers",
        "applying",
        "membership",
        "Kherson",
        "kyiv women",
        "jobs for peace and resilience",
        "how does a partnership work",
        "public employment services",
        "privacy of my data",
        "frequently asked questions",
        "Bosnia and Herzegovina",
        "municipalities",
        "trainings",
        "apprenticeship",
        "xyzzy",
        "quantum blockchain",
    ],
    "bs": [
        "zaposljavanja",
        "zapošljavanje",
        "partnerstava",
        "clanstvo",
        "članstva",
        "poslodavaca",
        "medjunarodna organizacija rada",
        "medunarodne",
        "opcine",
        "vijesti",
        "Kijevu",
        "Herson",
        "zasto se ukljuciti",
        "zene i mladi",
        "obrazovne institucije",
        "privatnost podataka",
        "xyzzy",
        "kvantni blokčejn",
    ],
    "uk": [
        "партнерства",
        "партнерств",
        "зайнятості",
        "роботодавців",
        "членство",
        "новини",
        "києві",
        "Херсон",
        "зв'язатися",
        "звʼязатися",
        "п’ять груп",
        "служба зайнятості",
        "громади та роботодавці",
        "жінок",
        "конфіденційність даних",
        "як подати заяву",
        "xyzzy",
        "квантовий блокчейн",
    ],
}


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000, help="queries per language")
    args = parser.parse_args()

    started = time.perf_counter()
    store = ContentStore(ROOT / "content")
    index = SearchIndex(store)
    built = time.perf_counter() - started
    print(f"Machine: {machine()}")
    print(f"Index of {len(store.all_pages())} pages built in {built * 1000:.0f} ms")
    print(f"(first build in a process, simplemma's dictionaries loaded); {args.queries} queries")
    print("per language.\n")

    client = _client()
    chooser = random.Random(13)  # noqa: S311 (a repeatable mix of queries, not a secret)
    print("| language | query warm: median / p95 | query cold | whole request warm |")
    print("|---|---|---|---|")
    for lang, queries in QUERIES.items():
        chosen = [chooser.choice(queries) for _ in range(args.queries)]
        warm, cold, request = [], [], []
        for query in chosen:
            start = time.perf_counter()
            index.search(lang, query)
            warm.append(time.perf_counter() - start)
        for query in chosen:
            text.keys_for.cache_clear()
            start = time.perf_counter()
            index.search(lang, query)
            cold.append(time.perf_counter() - start)
        for query in chosen:
            start = time.perf_counter()
            response = client.get(f"/{lang}/search?q={quote(query)}")
            request.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        cells = [" / ".join(f"{value:.2f}" for value in percentiles(s)) for s in (warm, cold)]
        cells.append(" / ".join(f"{value:.2f}" for value in percentiles(request)))
        print(f"| {lang} | " + " | ".join(cells) + " ms |")


def _client():
    """A test client of the site on the real content, in a throw-away instance folder."""
    folder = tempfile.mkdtemp(prefix="lepsite-search-bench-")
    os.environ["LEPSITE_INSTANCE_PATH"] = folder
    from lepsite import create_app

    app = create_app(
        {
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
            "BASE_URL": "http://bench.test",
            "RATELIMIT_ENABLED": False,
        }
    )
    return app.test_client()


if __name__ == "__main__":
    main()
