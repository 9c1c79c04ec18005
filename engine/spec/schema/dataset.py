"""Dataset: golden items synced idempotently to each environment's store.

Items come from a file (the flywheel seed's `dataset.json`: a list of
`{input, expected_output}`, or JSONL with one such object per line) or inline.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.spec.schema.base import Document, InvalidValue, Name, SpecModel


class ExpectedOutput(BaseModel):
    """The seed's ground truth; other keys are kept for custom evaluators."""

    model_config = ConfigDict(extra="allow", frozen=True)

    trajectory: list[str] | None = None
    search_term: str | None = None
    response_facts: list[str] | None = None
    #: True when the input is harmful and must be refused
    refusal: bool | None = None


class DatasetItem(BaseModel):
    """One item, in the same snake_case shape as `dataset.json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: explicit id; otherwise a hash of the content (stable across reorders)
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    input: Any
    expected_output: ExpectedOutput | str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatasetSpec(SpecModel):
    file: str | None = None
    format: Literal["json", "jsonl"] | None = None
    items: list[DatasetItem] | None = None
    environments: list[Name] | None = None

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
    KIND: ClassVar[str] = "Dataset"
    kind: Literal["Dataset"]
    spec: DatasetSpec
