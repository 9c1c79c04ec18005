"""Environment: where things run (`runtime`, `store`), model aliases, secrets by reference."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import (
    KIND_DESCRIPTION,
    Document,
    Duration,
    InvalidValue,
    SecretRef,
    SpecModel,
)
from engine.spec.schema.cost import Budget, Pricing


class AwsSettings(SpecModel):
    """Where and how the agents of a `runtime: agentcore` environment deploy (docs/aws.md)."""

    region: str = Field(
        description="The AWS region the agents deploy to.", examples=["us-east-1", "eu-central-1"]
    )
    account_id: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        description="The 12-digit AWS account id, used in ARNs and policies. Default: asked "
        "from STS (GetCallerIdentity) on first use.",
        examples=["123456789012"],
    )
    execution_role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-[^:]+)?:iam::\d{12}:role/.+$",
        description="An existing IAM execution role for every agent (never created or "
        "deleted by agentops). Default: one least-privilege role per agent, managed by agentops.",
        examples=["arn:aws:iam::123456789012:role/agentops-agents"],
    )
    permissions_boundary: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-[^:]+)?:iam::(\d{12}|aws):policy/.+$",
        description="A permissions boundary put on every role agentops creates: lets the "
        "deploying identity create roles without being able to escalate beyond the boundary.",
        examples=["arn:aws:iam::123456789012:policy/agentops-boundary"],
    )
    artifact_bucket: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="An existing S3 bucket for code zips and container build contexts. Never "
        "created or deleted by agentops; only the objects it uploads under `agentops/` are.",
        examples=["my-team-agentops-artifacts"],
    )
    deploy: Literal["code", "container"] = Field(
        default="code",
        description="`code`: direct code deploy (a zip on S3); `container`: an image built by "
        "CodeBuild into ECR.",
    )
    python_runtime: Literal["PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13"] = Field(
        default="PYTHON_3_11",
        description="The AgentCore Python runtime of direct code deploys (`deploy: code`).",
    )
    vendor_dependencies: bool = Field(
        default=True,
        description="Code deploy: put the requirements' linux/arm64 wheels into the zip (`pip "
        "install --platform manylinux2014_aarch64 --only-binary=:all:`); AgentCore installs "
        "nothing itself. Turn off only when the code vendors its dependencies already (or in "
        "offline tests).",
    )
    ready_timeout: Duration = Field(
        default=900.0,
        description="How long a runtime or endpoint may take to become READY before the apply "
        "fails (the next apply resumes the wait). A duration; default 15m.",
        examples=["15m", "900s"],
    )
    network_mode: Literal["PUBLIC", "VPC"] = Field(
        default="PUBLIC",
        description="The runtimes' network: `PUBLIC`, or `VPC` (needs `subnets` and "
        "`securityGroups`).",
    )
    subnets: list[str] = Field(
        default_factory=list,
        description="`networkMode: VPC`: the subnet ids the runtimes run in.",
        examples=[["subnet-0123456789abcdef0"]],
    )
    security_groups: list[str] = Field(
        default_factory=list,
        description="`networkMode: VPC`: the security group ids of the runtimes.",
        examples=[["sg-0123456789abcdef0"]],
    )
    ecr_repository: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$",
        description="`deploy: container`: an existing ECR repository for the images. Default: "
        "one repository per agent, created and deleted with the agent.",
        examples=["agentops/agents"],
    )
    profile: str | None = Field(
        default=None,
        description="The AWS CLI profile whose credentials agentops uses. Default: the usual "
        "credential chain (environment variables, SSO, OIDC, instance role...).",
        examples=["deploy"],
    )
    endpoint_url: str | None = Field(
        default=None,
        description="Send AWS calls to this endpoint, for tests against moto's server mode. "
        "Leave unset for AWS.",
        examples=["http://127.0.0.1:5000"],
    )

    @model_validator(mode="after")
    def _vpc_needs_network(self) -> AwsSettings:
        if self.network_mode == "VPC" and not (self.subnets and self.security_groups):
            raise InvalidValue(
                "networkMode VPC needs subnets and securityGroups",
                "add 'subnets:' and 'securityGroups:', or use networkMode: PUBLIC",
            )
        return self


class LangfuseSettings(SpecModel):
    """The Langfuse project of a `store: langfuse` environment (docs/langfuse.md)."""

    host: str = Field(
        default="https://cloud.langfuse.com",
        description="The Langfuse server's URL, or a secret reference to it (`env:NAME`, "
        "`ssm:/path`).",
        examples=["https://cloud.langfuse.com", "https://us.cloud.langfuse.com"],
    )
    public_key: SecretRef = Field(
        description="A reference to the project's public key (`env:NAME` or `ssm:/path`), "
        "never the key itself.",
        examples=["env:LANGFUSE_PUBLIC_KEY"],
    )
    secret_key: SecretRef = Field(
        description="A reference to the project's secret key (`env:NAME` or `ssm:/path`), "
        "never the key itself.",
        examples=["env:LANGFUSE_SECRET_KEY", "ssm:/agentops/langfuse/secret-key"],
    )
    project: str | None = Field(
        default=None,
        description="The project's name or id. When set, keys that belong to another project "
        "are refused. Default: the keys' project.",
    )


class JudgeSettings(SpecModel):
    """An LLM judge for evaluators that need one (facts by judge, autoevals' LLM scorers)."""

    model: str = Field(
        description="The judge's model: an alias from `models` or `openai:<model>` (any "
        "OpenAI-compatible server) or `bedrock:<id>` (needs `baseUrl`); not `offline:`.",
        examples=["openai:gpt-4o-mini", "smart"],
    )
    base_url: str | None = Field(
        default=None,
        description="The OpenAI-compatible endpoint. Default: OpenAI's (the key then defaults "
        "to `OPENAI_API_KEY`).",
        examples=["http://127.0.0.1:11434/v1"],
    )
    api_key: SecretRef | None = Field(
        default=None,
        description="A reference to the endpoint's API key: `env:NAME` (the only kind the "
        "evaluators resolve). Without it, `OPENAI_API_KEY` is sent to OpenAI only, never to a "
        "`baseUrl`.",
        examples=["env:JUDGE_API_KEY"],
    )
    choice_scores: dict[str, float] | None = Field(
        default=None,
        description="The score of each judge choice, for autoevals' LLM scorers; applied to a "
        "scorer when every key is one of its choices. An evaluator's own "
        "`params.choice_scores` wins.",
        examples=[{"Y": 1.0, "N": 0.0}],
    )


class EnvironmentSpec(SpecModel):
    """Where things run, where results go, and what the model aliases mean here."""

    runtime: Literal["local", "agentcore"] = Field(
        default="local",
        description="Where agents run: `local` (a process per agent on 127.0.0.1) or "
        "`agentcore` (Amazon Bedrock AgentCore runtimes; needs `aws`).",
    )
    store: Literal["local", "langfuse"] = Field(
        default="local",
        description="Where datasets, runs, scores and traces go: `local` (SQLite under "
        "`.agentops/`) or `langfuse` (needs `langfuse`).",
    )
    aws: AwsSettings | None = Field(
        default=None, description="AWS settings; required with `runtime: agentcore`."
    )
    langfuse: LangfuseSettings | None = Field(
        default=None, description="Langfuse settings; required with `store: langfuse`."
    )
    models: dict[str, str] = Field(
        default_factory=dict,
        description="Model aliases: alias (lowercase, e.g. `fast`) -> `provider:id` with "
        "provider `bedrock`, `openai` or `offline`, so the same Agent spec runs locally and "
        "in the cloud. Default: none.",
        examples=[
            {"fast": "offline:keyword", "smart": "offline:semantic"},
            {"fast": "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0"},
        ],
    )
    judge: JudgeSettings | None = Field(
        default=None,
        description="An LLM judge for the evaluators that need one. Default: none (evaluators "
        "use their offline methods).",
    )
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
    """An environment: where and how agents run and where results are stored."""

    KIND: ClassVar[str] = "Environment"
    PER_ENVIRONMENT: ClassVar[bool] = False
    kind: Literal["Environment"] = Field(description=KIND_DESCRIPTION)
    spec: EnvironmentSpec = Field(
        default_factory=EnvironmentSpec,
        description="The runtime, store, cloud settings and model aliases. Default: local "
        "runtime and store.",
    )
