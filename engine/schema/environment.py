"""Environment: where things run (`runtime`, `store`), model aliases, secrets by reference."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.schema.base import Document, SecretRef, SpecModel


class AwsSettings(SpecModel):
    region: str
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    #: an existing execution role for every agent; without it the engine creates one per agent
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws(-[^:]+)?:iam::\d{12}:role/.+$"
    )
    artifact_bucket: str | None = None
    #: direct code deploy (zip on S3) or a container image built by CodeBuild into ECR
    deploy: Literal["code", "container"] = "code"
    network_mode: Literal["PUBLIC", "VPC"] = "PUBLIC"
    subnets: list[str] = Field(default_factory=list)
    security_groups: list[str] = Field(default_factory=list)
    ecr_repository: str | None = None
    profile: str | None = None
    #: for tests against moto's server mode; leave unset for AWS
    endpoint_url: str | None = None

    @model_validator(mode="after")
    def _vpc_needs_network(self) -> AwsSettings:
        if self.network_mode == "VPC" and not (self.subnets and self.security_groups):
            raise ValueError("networkMode VPC needs subnets and securityGroups")
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

    @model_validator(mode="after")
    def _settings_present(self) -> EnvironmentSpec:
        if self.runtime == "agentcore" and self.aws is None:
            raise ValueError("runtime agentcore needs an 'aws' section (region at least)")
        if self.store == "langfuse" and self.langfuse is None:
            raise ValueError("store langfuse needs a 'langfuse' section (host and keys)")
        return self


class Environment(Document):
    KIND: ClassVar[str] = "Environment"
    PER_ENVIRONMENT: ClassVar[bool] = False
    kind: Literal["Environment"]
    spec: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
