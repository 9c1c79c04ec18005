"""Agent: a standing resource deployed to every environment it names.

Its digest (code files, requirements, model, prompt, env, tools) decides update vs no-op.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import (
    Document,
    Duration,
    EnvVarName,
    InvalidValue,
    Name,
    SecretRef,
    SpecModel,
)


class McpServer(SpecModel):
    """An MCP server the agent gets as tools (passed to it as `AGENTOPS_MCP_SERVERS`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    transport: Literal["stdio", "http"] = "stdio"
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[EnvVarName, str] = Field(default_factory=dict)
    url: str | None = None

    @model_validator(mode="after")
    def _transport_fields(self) -> McpServer:
        if self.transport == "stdio" and not self.command:
            raise InvalidValue(
                "a stdio MCP server needs 'command'",
                "add 'command:', or set 'transport: http' and 'url:'",
            )
        if self.transport == "http" and not self.url:
            raise InvalidValue("an http MCP server needs 'url'", "add 'url:'")
        return self


class Lifecycle(SpecModel):
    #: AgentCore's idleRuntimeSessionTimeout
    idle_timeout: Duration = 900.0
    #: AgentCore's maxLifetime
    max_lifetime: Duration = 28800.0
    #: how long a new version may take to become healthy before the deploy fails
    health_timeout: Duration = 30.0
    #: how long a stopping agent may finish in-flight requests before SIGKILL
    stop_grace: Duration = 5.0


class AgentSpec(SpecModel):
    #: directory with the agent's code, relative to the workspace root
    source: str
    #: the file serving the AgentCore app contract, relative to `source`
    entrypoint: str
    #: globs (relative to `source`) of the files that make up the agent: digest and package
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    #: requirements file relative to `source` (packaged for AgentCore)
    requirements: str | None = None
    #: a model alias of the environment (`fast`) or `provider:id` (`offline:keyword`)
    model: str
    system_prompt: str | None = None
    system_prompt_file: str | None = None
    tools: list[McpServer] = Field(default_factory=list)
    env: dict[EnvVarName, str] = Field(default_factory=dict)
    secrets: dict[EnvVarName, SecretRef] = Field(default_factory=dict)
    #: agents this one invokes (A2A): they deploy first and their address is injected
    calls: list[Name] = Field(default_factory=list)
    #: environments it runs in; all declared environments when omitted
    environments: list[Name] | None = None
    protocol: Literal["HTTP", "MCP", "A2A"] = "HTTP"
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)

    @model_validator(mode="after")
    def _one_prompt(self) -> AgentSpec:
        if self.system_prompt is not None and self.system_prompt_file is not None:
            raise InvalidValue(
                "both 'systemPrompt' and 'systemPromptFile' are set", "keep one of them"
            )
        clash = sorted(set(self.env) & set(self.secrets))
        if clash:
            raise InvalidValue(
                f"{', '.join(clash)} set in both env and secrets",
                "set each variable in one of them",
            )
        return self


class Agent(Document):
    KIND: ClassVar[str] = "Agent"
    kind: Literal["Agent"]
    spec: AgentSpec
