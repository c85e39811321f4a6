"""The command line: validation exit codes and the identifier explainer."""

from hashlib import sha256

from audience_pipelines.cli import main
from audience_pipelines_tests.conftest import PROJECT_DIR


def test_validate_passes_on_the_shipped_configuration(monkeypatch, capsys):
    monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(PROJECT_DIR / "audiences.yaml"))
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok: 5 audience(s), 13 destination(s), 15 sync(s)")


def test_validate_fails_with_file_item_and_field(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "audiences.yaml"
    bad.write_text(
        "audiences:\n  - {name: a, type: dynamic, refresh: daily, window: 7d, start: 2026-01-01, sql: select 1}\n"
        "syncs:\n  - {name: s, audience: a, destination: nowhere, type: list, target: {name: x},"
        " identifiers: {email: email}}\n"
    )
    monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(bad))
    assert main(["validate"]) == 1
    error = capsys.readouterr().err
    assert "audiences.yaml: sync 's' (item 1): field 'destination': no destination named 'nowhere'" in error
    assert "sync 's' (item 1): field 'identifiers.email': audience 'a' declares no identifier column 'email'" in error


def test_identifiers_normalize_prints_the_value_and_its_hash(capsys):
    assert main(["identifiers", "normalize", "--platform", "meta", "--type", "phone", "+1 (650) 555-1212"]) == 0
    out = capsys.readouterr().out
    assert "normalized: 16505551212" in out
    assert f"sha256:     {sha256(b'16505551212').hexdigest()}" in out


def test_identifiers_normalize_explains_a_dropped_value(capsys):
    assert main(["identifiers", "normalize", "--platform", "google", "--type", "email", "nobody"]) == 1
    assert "dropped: invalid_email" in capsys.readouterr().out
