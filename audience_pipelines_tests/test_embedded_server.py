"""The embedded PostgreSQL is set up for one user's warehouse: its settings are in place from the first start."""

from pathlib import Path

import sqlalchemy as sa

from audience_pipelines.embedded import EMBEDDED_SETTINGS, EmbeddedPostgres, tune_embedded_server


def test_a_new_embedded_server_runs_with_the_warehouse_settings(postgres: EmbeddedPostgres):
    engine = sa.create_engine(postgres.warehouse_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        running = {name: conn.execute(sa.text(f"show {name}")).scalar_one() for name in EMBEDDED_SETTINGS}
    assert running == EMBEDDED_SETTINGS


def test_settings_are_added_once_and_never_to_a_running_server(tmp_path: Path):
    conf = tmp_path / "postgresql.conf"
    conf.write_text("shared_buffers = 128MB\n")
    tune_embedded_server(tmp_path)
    tune_embedded_server(tmp_path)
    text = conf.read_text()
    assert text.startswith("shared_buffers = 128MB\n")
    assert text.count("shared_buffers = '512MB'") == 1, "appended once, after the server's own line (last wins)"

    running = tmp_path / "running"
    running.mkdir()
    (running / "postgresql.conf").write_text("shared_buffers = 128MB\n")
    (running / "postmaster.pid").write_text("1\n")
    tune_embedded_server(running)
    assert (running / "postgresql.conf").read_text() == "shared_buffers = 128MB\n"
