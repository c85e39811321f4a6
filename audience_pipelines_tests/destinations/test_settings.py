"""Destination settings every type shares: https only (plain http on loopback), credentials by variable name."""

import pytest

from audience_pipelines.config import ConfigError, ProjectConfig, load_config
from audience_pipelines.destinations.settings import UnsafeUrlError, credential_warnings, url_problem
from audience_pipelines.destinations.webhook import WebhookConfig


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/x", "http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:9000"],
)
def test_https_anywhere_and_plain_http_on_loopback_are_allowed(url):
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "plain http"),
        ("http://10.0.0.5/x", "plain http"),
        ("file:///etc/passwd", "not an http(s) URL"),
        ("ftp://example.com", "not an http(s) URL"),
        ("hooks.example.com", "not an http(s) URL"),
        ("https://", "not an http(s) URL"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url, why):
    assert why in url_problem(url)


def webhook(base_url: str, variable: str = "HOOK_SECRET") -> WebhookConfig:
    return WebhookConfig.model_validate(
        {"name": "hook", "type": "webhook", "base_url": base_url, "credentials": {"signing_secret": variable}}
    )


def test_a_plain_http_base_url_is_a_validation_error_naming_the_field(tmp_path):
    path = tmp_path / "audiences.yaml"
    path.write_text(
        "destinations:\n  - {name: hook, type: webhook, base_url: 'http://hooks.example.com',"
        " credentials: {signing_secret: HOOK_SECRET}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "destination 'hook' (item 1): field 'base_url'" in str(caught.value) and "use https" in str(caught.value)


def test_a_variable_that_expands_to_plain_http_is_refused_at_use(monkeypatch):
    monkeypatch.setenv("HOOK_URL", "http://hooks.example.com")
    with pytest.raises(UnsafeUrlError, match=r"destination 'hook': base_url: .*plain http"):
        webhook("${HOOK_URL}").resolved_base_url()
    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:5000")
    assert webhook("${HOOK_URL}").resolved_base_url() == "http://127.0.0.1:5000"


def test_credentials_naming_unset_variables_or_looking_like_secrets_are_warned_about(monkeypatch):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    assert credential_warnings(webhook("https://x.example")) == [
        "destination 'hook': $HOOK_SECRET not set here; its runs fail until they are"
    ]
    pasted = webhook("https://x.example", "EAABSDJF83HSDKF92HSDF8SDF")
    assert "looks like a secret" in credential_warnings(pasted)[0]
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0")
    assert credential_warnings(webhook("https://x.example")) == []


def test_project_warnings_cover_only_destinations_an_active_sync_uses(monkeypatch):
    monkeypatch.delenv("UNUSED_SECRET", raising=False)
    config = ProjectConfig.model_validate(
        {
            "destinations": [
                {"name": "idle", "type": "webhook", "base_url": "https://x.example",
                 "credentials": {"signing_secret": "UNUSED_SECRET"}}
            ]
        }
    )  # fmt: skip
    assert config.warnings == []
