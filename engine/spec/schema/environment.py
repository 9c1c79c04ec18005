"""Environment: where things run (`runtime`, `store`), model aliases, secrets by reference."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import Document, Duration, InvalidValue, SecretRef, SpecModel
from engine.spec.schema.cost import Budget, Pricing


class AwsSettings(SpecModel):
    """Where and how the agents of a `runtime: agentcore` environment deploy (docs/aws.md)."""

    region: str
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    #: an existing execution role for every agent; without it the engine creates one per agent
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws(-[^:]+)?:iam::\d{12}:role/.+$"
    )
    #: a permissions boundary put on every role agentops creates (lets the deploying identity
    #: create roles without being able to escalate beyond the boundary)
    permissions_boundary: str | None = Field(
        default=None, pattern=r"^arn:aws(-[^:]+)?:iam::(\d{12}|aws):policy/.+$"
    )
    #: an existing S3 bucket for code zips and container build contexts (never created or
    #: deleted by agentops; only the objects it uploads under `agentops/` are)
    artifact_bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    #: direct code deploy (zip on S3) or a container image built by CodeBuild into ECR
    deploy: Literal["code", "container"] = "code"
    #: the AgentCore Python runtime of direct code deploys
    python_runtime: Literal["PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13"] = (
        "PYTHON_3_11"
    )
    #: code deploy: put the requirements' linux/arm64 wheels into the zip (`pip install
    #: --platform manylinux2014_aarch64 --only-binary=:all:`); AgentCore installs nothing itself.
    #: Turn off only when the code vendors its dependencies already (or in offline tests).
    vendor_dependencies: bool = True
    #: how long a runtime or endpoint may take to become READY before the apply fails
    ready_timeout: Duration = 900.0
    network_mode: Literal["PUBLIC", "VPC"] = "PUBLIC"
    subnets: list[str] = Field(default_factory=list)
    security_groups: list[str] = Field(default_factory=list)
    #: an existing ECR repository for container images; without it one repository per agent
    #: is created (and deleted with the agent)
    ecr_repository: str | None = Field(
        default=None, pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
    )
    profile: str | None = None
    #: for tests against moto's server mode; leave unset for AWS
    endpoint_url: str | None = None

    @model_validator(mode="after")
    def _vpc_needs_network(self) -> AwsSettings:
        if self.network_mode == "VPC" and not (self.subnets and self.security_groups):
            raise InvalidValue(
                "networkMode VPC needs subnets and securityGroups",
                "add 'subnets:' and 'securityGroups:', or use networkMode: PUBLIC",
            )
        return self


class LangfuseSettings(SpecModel):
    host: str = "https://cloud.langfuse.com"
    public_key: SecretRef
    secret_key: SecretRef
    project: str | None = None


class JudgeSettings(SpecModel):
    """An LLM judge for evaluators that need one (facts by judge, autoevals' LLM scorers)."""

    model: str
    base_url: str | None = None
    api_key: SecretRef | None = None
    choice_scores: dict[str, float] | None = None


class EnvironmentSpec(SpecModel):
    runtime: Literal["local", "agentcore"] = "local"
    store: Literal["local", "langfuse"] = "local"
    aws: AwsSettings | None = None
    langfuse: LangfuseSettings | None = None
    #: model aliases: `fast: offline:keyword` here, `fast: bedrock:...` in the cloud
    models: dict[str, str] = Field(default_factory=dict)
    judge: JudgeSettings | None = None
    pricing: Pricing | None = Field(
        default=None,
        description="prices per 1M tokens of the models (aliases or provider:id) runs here "
        "invoke; the plan estimates each run's cost from them",
    )
    budget: Budget | None = Field(
        default=None,
        description="caps the estimated sum of the runs in this environment per plan/apply; "
        "its tokensPerCall/tokensPerJudgeCall are the estimates of runs without their own",
    )

    @model_validator(mode="after")
    def _settings_present(self) -> EnvironmentSpec:
        if self.runtime == "agentcore" and self.aws is None:
            raise InvalidValue(
                "runtime agentcore needs an 'aws' section", "add 'aws:' with 'region:' at least"
            )
        if self.store == "langfuse" and self.langfuse is None:
            raise InvalidValue(
                "store langfuse needs a 'langfuse' section",
                "add 'langfuse:' with 'publicKey:' and 'secretKey:' references",
            )
        return self


class Environment(Document):
    KIND: ClassVar[str] = "Environment"
    PER_ENVIRONMENT: ClassVar[bool] = False
    kind: Literal["Environment"]
    spec: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
