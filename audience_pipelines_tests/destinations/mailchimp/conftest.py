"""Fixtures for the Mailchimp tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.kit import Batch, OutboundMember
from audience_pipelines.destinations.mailchimp import FakeMailchimp, MailchimpClient, MailchimpConfig
from audience_pipelines_tests.destinations.support import serving

ClientFactory = Callable[..., MailchimpClient]


def member(key: str, email: str | None, **merge: str) -> OutboundMember:
    """A member as the identity layer hands it over: the email normalized, not hashed."""
    fields = {"email_address": email} if email else {}
    return OutboundMember(key, {**fields, **merge})


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMailchimp]:
    """A running fake whose test API key is exported as CONTRACT_MAILCHIMP_API_KEY."""
    with serving(FakeMailchimp.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeMailchimp) -> Callable[..., MailchimpConfig]:
    def build(**settings: Any) -> MailchimpConfig:
        body = fake.destination("mailchimp")
        retry = {"max_attempts": 5, "base_delay_seconds": 1.0, "connect_timeout_seconds": 2, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], **settings}
        return MailchimpConfig.model_validate({"name": "mc", "type": "mailchimp", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(make_config: Callable[..., MailchimpConfig], sleeps: list[float], opened: list[Any]) -> ClientFactory:
    def build(logs: list[str] | None = None, **settings: Any) -> MailchimpClient:
        log = logs.append if logs is not None else (lambda message: None)
        client = MailchimpClient(make_config(**settings), log=log, sleep=sleeps.append)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> MailchimpClient:
    return make_client()
