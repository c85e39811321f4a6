"""The local sandbox that ``demo`` and ``dev`` start: every registered destination's fake on 127.0.0.1,
with its URL and demo credentials exported to the environment the example configuration reads."""

from __future__ import annotations

from dataclasses import dataclass

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines.destinations.registry import destination_type, fake_classes


@dataclass
class Sandbox:
    """Running sandbox servers, one per fake class."""

    fakes: dict[type[ContractFake], ContractFake]

    def fake_for(self, destination_type_name: str) -> ContractFake:
        return self.fakes[destination_type(destination_type_name).fake]

    def held(self, config: ProjectConfig, sync: SyncConfig, list_id: str | None) -> int:
        """How many members the sandbox holds for a sync (list members, or members whose last event is an add)."""
        destination = config.destination(sync.destination)
        if sync.type == "list" and list_id is None:
            return 0
        return len(self.fake_for(destination.type).held(destination, list_id, sync.name))

    def urls(self) -> dict[str, str]:
        return {fake.url_env: fake.base_url for fake in self.fakes.values()}

    def stop(self) -> None:
        for fake in self.fakes.values():
            fake.stop()


def sandbox_syncs(config: ProjectConfig) -> list[str]:
    """Syncs whose destination is a sandbox server (its base URL comes from a sandbox variable)."""
    variables = {fake.url_env for fake in fake_classes()}
    sandboxed = {d.name for d in config.destinations if d.url_variables() & variables}
    return [s.name for s in config.syncs if s.destination in sandboxed]


def start_sandbox() -> Sandbox:
    """Start every fake on a free loopback port and export what the example destinations read.

    Credentials already in the environment are used; otherwise fresh random ones are made for this process.
    """
    return Sandbox({fake: fake.for_sandbox() for fake in fake_classes()})
