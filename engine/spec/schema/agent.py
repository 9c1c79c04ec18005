"""Agent: a standing resource deployed to every environment it names.

Its digest (code files, requirements, model, prompt, env, tools) decides update vs no-op.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import (
    KIND_DESCRIPTION,
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

    name: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The server's name among the agent's tools: letters, digits, '_' and '-', "
        "at most 64 characters.",
        examples=["project-docs"],
    )
    transport: Literal["stdio", "http"] = Field(
        default="stdio",
        description="`stdio`: the agent starts `command` and talks to it over stdin/stdout; "
        "`http`: the agent connects to a running server at `url`.",
    )
    command: str | None = Field(
        default=None,
        description="stdio: the program to start; `python` is the agent's own interpreter. "
        "Required with `transport: stdio`.",
        examples=["python"],
    )
    args: list[str] = Field(
        default_factory=list,
        description="stdio: the arguments of `command`. Default: none.",
        examples=[["agents/docs_assistant/docs_server.py"]],
    )
    env: dict[EnvVarName, str] = Field(
        default_factory=dict,
        description="stdio: environment variables set for the server on top of the agent's own "
        "(which it inherits, secrets included). Plain values, never secrets. Default: none.",
        examples=[{"DOCS_DIR": "docs"}],
    )
    url: str | None = Field(
        default=None,
        description="http: the server's URL. Required with `transport: http`.",
        examples=["http://127.0.0.1:8000/mcp"],
    )

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
    """How long the agent's runtime sessions live and how long it may take to start and stop."""

    idle_timeout: Duration = Field(
        default=900.0,
        description="AgentCore: a runtime session idle this long is ended "
        "(idleRuntimeSessionTimeout, whole seconds). A duration; default 15m.",
        examples=["15m"],
    )
    max_lifetime: Duration = Field(
        default=28800.0,
        description="AgentCore: the longest a runtime session lives, idle or not (maxLifetime, "
        "whole seconds). A duration; default 8h.",
        examples=["8h"],
    )
    health_timeout: Duration = Field(
        default=30.0,
        description="Local runtime: how long a new version may take to answer `GET /ping` "
        "before the deploy fails (AgentCore environments use `aws.readyTimeout`). A duration; "
        "default 30s.",
        examples=["30s", "2m"],
    )
    stop_grace: Duration = Field(
        default=5.0,
        description="Local runtime: how long a stopping experiment variant may finish "
        "in-flight requests before it is killed (at most 2s of it is used). A duration; "
        "default 5s.",
        examples=["5s"],
    )


class AgentSpec(SpecModel):
    """What the agent is: its code, model, prompt, tools, settings and where it runs."""

    source: str = Field(
        description="Directory with the agent's code, relative to the workspace root (inside "
        "it). Its files (see `include`) are packaged and make up the agent's digest.",
        examples=["agents"],
    )
    entrypoint: str = Field(
        description="The Python file serving the AgentCore app contract (`POST /invocations`, "
        "`GET /ping`), relative to `source`.",
        examples=["docs_assistant/app.py"],
    )
    include: list[str] = Field(
        default_factory=lambda: ["**/*"],
        description="Glob patterns, relative to `source`, of the files that make up the agent: "
        "they are hashed into its digest and packaged. Default: every file (`**/*`).",
        examples=[["docs_assistant/**", "agentkit/**", "requirements.txt"]],
    )
    requirements: str | None = Field(
        default=None,
        description="A pip requirements file relative to `source`, part of the digest. "
        "AgentCore: its wheels go into the code zip (see `aws.vendorDependencies`); a "
        "`deploy: container` build needs it.",
        examples=["requirements.txt"],
    )
    model: str = Field(
        description="The model: an alias from the environment's `models` (so one spec runs "
        "locally and in the cloud), or `provider:id` with provider `bedrock`, `openai` or "
        "`offline`. Passed to the agent as `AGENTOPS_MODEL`.",
        examples=["fast", "offline:keyword", "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0"],
    )
    system_prompt: str | None = Field(
        default=None,
        description="The system prompt, inline (passed as `AGENTOPS_SYSTEM_PROMPT`; empty: "
        "the agent's own default). Set this or `systemPromptFile`, not both.",
    )
    system_prompt_file: str | None = Field(
        default=None,
        description="A file holding the system prompt, relative to the workspace root. Set "
        "this or `systemPrompt`, not both.",
        examples=["prompts/docs-assistant.md"],
    )
    tools: list[McpServer] = Field(
        default_factory=list,
        description="MCP servers whose tools the agent gets (as `AGENTOPS_MCP_SERVERS`). "
        "Default: none.",
    )
    env: dict[EnvVarName, str] = Field(
        default_factory=dict,
        description="Environment variables of the agent, plain values (part of its digest). "
        "Secrets go in `secrets`; a name cannot be in both. Default: none.",
        examples=[{"DOCS_DIR": "docs"}],
    )
    secrets: dict[EnvVarName, SecretRef] = Field(
        default_factory=dict,
        description="Environment variables whose values are secrets, as references: "
        "`env:NAME` (locally) or `ssm:/path` (the only kind AgentCore environments accept; the "
        "agent reads the parameter at start-up). Values never appear in plans, state or logs.",
        examples=[{"OPENAI_API_KEY": "env:OPENAI_API_KEY"}, {"API_TOKEN": "ssm:/bot/api-token"}],
    )
    calls: list[Name] = Field(
        default_factory=list,
        description="Agents this one invokes (A2A): they deploy first, their URL (locally) or "
        "ARN (AgentCore) is injected as `AGENTOPS_AGENT_<NAME>_URL`/`_ARN`, and this agent "
        "may invoke exactly them. Default: none.",
        examples=[["specialist"]],
    )
    environments: list[Name] | None = Field(
        default=None,
        description="The environments the agent runs in. Default: every declared environment.",
        examples=[["dev", "tst", "prd"]],
    )
    protocol: Literal["HTTP", "MCP", "A2A"] = Field(
        default="HTTP",
        description="The server protocol of the AgentCore runtime (serverProtocol).",
    )
    lifecycle: Lifecycle = Field(
        default_factory=Lifecycle,
        description="Session lifetimes and start/stop timeouts.",
    )

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
    """An agent: a standing resource deployed to every environment it names."""

    KIND: ClassVar[str] = "Agent"
    kind: Literal["Agent"] = Field(description=KIND_DESCRIPTION)
    spec: AgentSpec = Field(description="The agent's code, model, prompt, tools and settings.")
