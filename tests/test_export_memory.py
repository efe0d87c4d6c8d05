"""The CSV export streams: memory stays flat however many applications it writes."""

import tracemalloc

from conftest import sign_in
from sqlalchemy import select

from lepsite.extensions import db
from lepsite.models import Application


def seed(runner, count: int) -> None:
    result = runner.invoke(args=["demo", "seed-bulk", "--applications", str(count)])
    assert result.exit_code == 0, result.output


def export_size_and_peak(client) -> tuple[int, int]:
    """Bytes of CSV downloaded, and the most memory Python held at once while making them."""
    tracemalloc.start()
    try:
        response = client.get("/admin/applications/export.csv", buffered=False)
        assert response.status_code == 200
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_of_loading_all(app) -> int:
    """The memory it takes to load every application at once, as a naive export would."""
    with app.app_context():
        tracemalloc.start()
        try:
            applications = db.session.scalars(select(Application)).all()
            assert applications
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_rows(app, client, make_user):
    make_user("admin@example.org", role="admin")
    runner = app.test_cli_runner()
    sign_in(client, "admin@example.org")
    seed(runner, 5_000)
    small_size, small_peak = export_size_and_peak(client)
    loaded_peak = peak_of_loading_all(app)
    seed(runner, 15_000)
    large_size, large_peak = export_size_and_peak(client)

    assert large_size > 3.5 * small_size  # four times the rows went out...
    assert large_peak < 1.5 * small_peak  # ...in about the same memory,
    # less than the file itself, and less than loading a quarter of the rows would take.
    assert large_peak < large_size
    assert large_peak < loaded_peak, (large_peak, loaded_peak)
