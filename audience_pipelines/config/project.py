"""The whole configuration file: audiences, destinations and syncs."""

from __future__ import annotations

from collections import Counter

from pydantic import Field, model_validator

from audience_pipelines.config.audiences import Audience, StrictModel


class ProjectConfig(StrictModel):
    """Everything declared in ``audiences.yaml``."""

    audiences: list[Audience] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ProjectConfig:
        _require_unique("audiences", [a.name for a in self.audiences])
        return self

    def audience(self, name: str) -> Audience:
        """The audience called ``name`` (KeyError if none)."""
        for audience in self.audiences:
            if audience.name == name:
                return audience
        raise KeyError(f"no audience named {name!r}")


def _require_unique(section: str, names: list[str]) -> None:
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        items = ", ".join(
            f"{name!r} (items {', '.join(str(i + 1) for i, n in enumerate(names) if n == name)})"
            for name in repeated
        )
        raise ValueError(f"{section}: names must be unique; repeated: {items}")
