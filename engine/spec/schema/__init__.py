"""Spec models, one module per kind; `KINDS` maps `kind:` to its model."""

from __future__ import annotations

from engine.schema.agent import Agent, AgentSpec, Lifecycle, McpServer
from engine.schema.base import API_VERSION, Document, Metadata, parse_duration
from engine.schema.dataset import Dataset, DatasetItem, DatasetSpec, ExpectedOutput
from engine.schema.environment import Environment, EnvironmentSpec
from engine.schema.evaluation import EvaluatorRef, LatencyLimits, Threshold
from engine.schema.experiment import Experiment, ExperimentSpec, MatrixValue, Objective
from engine.schema.loadtest import LoadPrompt, LoadTest, LoadTestSpec, Slo
from engine.schema.qualitygate import QualityGate, QualityGateSpec

KINDS: dict[str, type[Document]] = {
    m.KIND: m for m in (Environment, Agent, Dataset, Experiment, QualityGate, LoadTest)
}
RUN_KINDS = frozenset({"Experiment", "QualityGate", "LoadTest"})

__all__ = [
    "API_VERSION",
    "Agent",
    "AgentSpec",
    "Dataset",
    "DatasetItem",
    "DatasetSpec",
    "Document",
    "Environment",
    "EnvironmentSpec",
    "EvaluatorRef",
    "ExpectedOutput",
    "Experiment",
    "ExperimentSpec",
    "KINDS",
    "LatencyLimits",
    "Lifecycle",
    "LoadPrompt",
    "LoadTest",
    "LoadTestSpec",
    "MatrixValue",
    "McpServer",
    "Metadata",
    "Objective",
    "QualityGate",
    "QualityGateSpec",
    "RUN_KINDS",
    "Slo",
    "Threshold",
    "parse_duration",
]
