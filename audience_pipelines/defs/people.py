"""The ``forget_user`` job: forget-user from the Dagster UI or API, with the identifiers in its run config.

Dagster stores a run's config with the run, so prefer ``member_key`` here (an identifier typed into the run
config stays in Dagster's run storage; the pipeline's own tables never keep it).
"""

import dagster as dg
from pydantic import Field

from audience_pipelines.config import ProjectConfig
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.sync_ops import PROJECT_RESOURCE
from audience_pipelines.sync.find import PersonQuery, PersonQueryError
from audience_pipelines.sync.forget import forget_person
from audience_pipelines.warehouse.people import SuppressionKeyError


class ForgetUserConfig(dg.Config):
    """Who to forget (at least one identifier) and the confirmation."""

    member_key: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    fbp: str | None = None
    ga_client_id: str | None = None
    phone_region: str = "US"
    confirm: bool = Field(default=False, description="must be true: forgetting cannot be undone")

    def query(self) -> PersonQuery:
        typed = {name: getattr(self, name) for name in PersonQuery.typed_names()}
        return PersonQuery(**typed, phone_region=self.phone_region)


@dg.op(
    description="Remove a person from every destination (one run per sync), suppress them, erase their identifiers.",
    required_resource_keys={PROJECT_RESOURCE, "warehouse"},
)
def forget_person_op(context: dg.OpExecutionContext, config: ForgetUserConfig) -> dg.Output[str]:
    project: ProjectConfig = getattr(context.resources, PROJECT_RESOURCE)
    warehouse: WarehouseResource = context.resources.warehouse
    if not config.confirm:
        raise dg.Failure(description="forget_user needs confirm: true in its run config; nothing was changed")
    try:
        report = forget_person(warehouse.engine(), project, config.query(), log=context.log.info)
    except (PersonQueryError, SuppressionKeyError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    metadata = {
        "members": len(report.member_keys),
        "suppressed_hashes": report.suppressed,
        "removed_from": dg.MetadataValue.json({r.sync: r.status for r in report.removals}),
        **{f"erased/{what}": count for what, count in report.erased.items()},
    }
    if not (report.done or report.already_forgotten):
        pending = ", ".join(f"{r.sync} ({r.status})" for r in report.pending)
        raise dg.Failure(
            description=f"{report.request_id}: not finished, {pending}; run the job again to finish",
            metadata=metadata,
        )
    return dg.Output(report.request_id, metadata=metadata)


@dg.job(description="Forget one person everywhere (right to erasure).", tags={"kind": "privacy"})
def forget_user() -> None:
    forget_person_op()


def build_people_defs() -> dg.Definitions:
    return dg.Definitions(jobs=[forget_user])
