"""Dataset: golden items synced idempotently to each environment's store.

Items come from a file (the flywheel seed's `dataset.json`: a list of
`{input, expected_output}`, or JSONL with one such object per line) or inline.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.spec.schema.base import KIND_DESCRIPTION, Document, InvalidValue, Name, SpecModel


class ExpectedOutput(BaseModel):
    """The seed's ground truth; other keys are kept for custom evaluators."""

    model_config = ConfigDict(extra="allow", frozen=True)

    trajectory: list[str] | None = Field(
        default=None,
        description="The tool names a good answer calls, in order (the `trajectory` evaluator); "
        "empty for a prompt that must be refused.",
        examples=[["getProjectOverview", "searchProjectDocs"]],
    )
    search_term: str | None = Field(
        default=None,
        description="The term a good answer passes to its search tool (the `search_term` "
        "evaluator).",
        examples=["quality gate"],
    )
    response_facts: list[str] | None = Field(
        default=None,
        description="Facts a good answer states (the `facts` evaluator scores the share covered).",
        examples=[["a gate blocks promotion until it passes"]],
    )
    refusal: bool | None = Field(
        default=None,
        description="True when the input is harmful and must be refused (the `refusal` evaluator).",
    )


class DatasetItem(BaseModel):
    """One item, in the same snake_case shape as `dataset.json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="The item's id in the store (letters, digits and `._:-`, at most 128). "
        "Default: `i-` and a hash of `input`, stable when items are reordered.",
        examples=["q-001"],
    )
    input: Any = Field(
        description="What the agent is sent: a mapping is the request body as it is (the "
        "reference agents read `prompt`, `question` or `input`); anything else is sent as "
        "`{prompt: ...}`.",
        examples=[{"question": "What does a quality gate do?"}],
    )
    expected_output: ExpectedOutput | str | None = Field(
        default=None,
        description="The ground truth the evaluators compare with: a mapping (trajectory, "
        "search_term, response_facts, refusal; other keys are kept for custom evaluators) or "
        "a string.",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form data passed to evaluators; `harmful: true` marks an input the "
        "`refusal` evaluator expects refused. Default: none.",
        examples=[{"harmful": True}],
    )


class DatasetSpec(SpecModel):
    """Where the items come from (a file or inline) and which environments' stores get them."""

    file: str | None = Field(
        default=None,
        description="A JSON file (a list of `{input, expected_output}` items) or JSONL (one per "
        "line), relative to the workspace root. Set this or `items`, not both.",
        examples=["dataset.json"],
    )
    format: Literal["json", "jsonl"] | None = Field(
        default=None,
        description="The file's format. Default: `jsonl` for a `.jsonl` file, else `json`.",
    )
    items: list[DatasetItem] | None = Field(
        default=None, description="The items, inline. Set this or `file`, not both."
    )
    environments: list[Name] | None = Field(
        default=None,
        description="The environments whose store receives the dataset. Default: every "
        "declared environment.",
        examples=[["tst"]],
    )

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if self.file is not None and self.items is not None:
            raise InvalidValue("both 'file' and 'items' are set", "keep exactly one of them")
        if self.file is None and self.items is None:
            raise InvalidValue(
                "neither 'file' nor 'items' is set", "add 'file: dataset.json' or inline 'items:'"
            )
        return self


class Dataset(Document):
    """A dataset: golden items synced idempotently to each environment's store."""

    KIND: ClassVar[str] = "Dataset"
    kind: Literal["Dataset"] = Field(description=KIND_DESCRIPTION)
    spec: DatasetSpec = Field(description="The items (from a file or inline) and where they go.")
