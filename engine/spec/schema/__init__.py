"""Spec models, one module per kind; `KINDS` maps `kind:` to its model."""

from __future__ import annotations

from engine.spec.schema.agent import Agent, AgentSpec, Lifecycle, McpServer
from engine.spec.schema.base import API_VERSION, Document, Metadata, parse_duration
from engine.spec.schema.dataset import Dataset, DatasetItem, DatasetSpec, ExpectedOutput
from engine.spec.schema.environment import Environment, EnvironmentSpec
from engine.spec.schema.evaluation import EvaluatorRef, LatencyLimits, Threshold
from engine.spec.schema.experiment import (
    LOWER_IS_BETTER,
    Experiment,
    ExperimentSpec,
    MatrixValue,
    Objective,
    TieBreaker,
)
from engine.spec.schema.loadtest import LoadPrompt, LoadTest, LoadTestSpec, Slo
from engine.spec.schema.monitor import Monitor, MonitorSpec
from engine.spec.schema.qualitygate import QualityGate, QualityGateSpec

KINDS: dict[str, type[Document]] = {
    m.KIND: m for m in (Environment, Agent, Dataset, Experiment, QualityGate, LoadTest, Monitor)
}
RUN_KINDS = frozenset({"Experiment", "QualityGate", "LoadTest", "Monitor"})

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
    "LOWER_IS_BETTER",
    "LatencyLimits",
    "Lifecycle",
    "LoadPrompt",
    "LoadTest",
    "LoadTestSpec",
    "MatrixValue",
    "McpServer",
    "Monitor",
    "MonitorSpec",
    "Metadata",
    "Objective",
    "QualityGate",
    "QualityGateSpec",
    "RUN_KINDS",
    "Slo",
    "TieBreaker",
    "Threshold",
    "parse_duration",
]
