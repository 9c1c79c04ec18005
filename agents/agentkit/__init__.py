"""agentkit: the small library deployed with every reference agent.

* :mod:`agentkit.models`  - ``build_model(model_string)`` for offline/bedrock/openai models.
* :mod:`agentkit.offline` - the offline, deterministic non-LLM policy models.
* :mod:`agentkit.respond` - payload parsing and the ``{"response", "trajectory", "usage",
  "model"}`` response shape.
* :mod:`agentkit.calls`   - ``call_agent(name, prompt)`` to invoke another agent, locally over
  HTTP or in AWS through ``bedrock-agentcore`` ``invoke_agent_runtime``.
* :mod:`agentkit.secrets` - in AWS, ``ssm:`` secrets read at start-up into the environment.
* :mod:`agentkit.telemetry` - ``setup_telemetry()``: in AWS with ``store: langfuse``, the
  agent's spans exported to Langfuse (keys read from SSM into memory only), and
  ``request_trace(context)``: spans continue the caller's ``traceparent``.
* :mod:`agentkit.text`    - tokenising, sentence splitting and BM25 shared by the above.

Importing the package is cheap: submodules import Strands/boto3 only when used. The one
side effect: when the engine deployed the agent with ``ssm:`` secrets
(``AGENTOPS_SECRET_<VAR>_SSM`` set, i.e. only in AgentCore), importing the package reads
them into ``<VAR>`` before any agent code can look for them.
"""

from __future__ import annotations

from agentkit.secrets import load_ssm_secrets as _load_ssm_secrets

_load_ssm_secrets()

__all__ = ["calls", "models", "offline", "respond", "secrets", "telemetry", "text"]
