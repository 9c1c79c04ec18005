"""`agentops invoke AGENT [PROMPT]`: ask a deployed agent, show its answer and trajectory.

It uses the same client as experiments, gates and load tests, looked up from state: the
local runtime's stable URL and workspace token, or (with `runtime: agentcore`) the runtime's
ARN through `invoke_agent_runtime`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.commands.common import AddGlobal
from engine.errors import UsageError


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("invoke", help="ask a deployed agent; prints answer and trajectory")
    p.add_argument("agent", help="agent name, e.g. docs-assistant")
    p.add_argument("prompt", nargs="?", help="the question (or use --json)")
    p.add_argument("--env", default=None, help="environment (default: the only one, or dev)")
    p.add_argument("--session", default=None, help="session id (>= 33 characters)")
    p.add_argument(
        "--json",
        dest="payload",
        default=None,
        metavar="PAYLOAD",
        help='raw JSON payload, e.g. \'{"prompt": "hi"}\'',
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    add_global(p)
    p.set_defaults(handler=cmd_invoke)


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    if args.payload is not None:
        try:
            data = json.loads(args.payload)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--json is not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(data, dict):
            raise UsageError('--json must be a JSON object, e.g. \'{"prompt": "hi"}\'')
        return data
    if not args.prompt:
        raise UsageError("give a PROMPT or --json PAYLOAD")
    return {"prompt": args.prompt}


def cmd_invoke(args: argparse.Namespace) -> int:
    from engine.commands.common import state_store
    from engine.providers.invocation import invoker_for
    from engine.reconcile import state_dir

    state = state_store(args).read()
    deployed = {a: r for a, r in state.resources.items() if a.startswith(f"agent.{args.agent}[")}
    if not deployed:
        raise UsageError(
            f"agent '{args.agent}' is not deployed in any environment",
            hint="check the name (agentops status), or run agentops apply",
        )
    env = args.env or (
        "dev"
        if f"agent.{args.agent}[dev]" in deployed or len(deployed) > 1
        else next(iter(deployed)).split("[", 1)[1].rstrip("]")
    )
    res = deployed.get(f"agent.{args.agent}[{env}]")
    if res is None:
        envs = ", ".join(sorted(a.split("[", 1)[1].rstrip("]") for a in deployed))
        raise UsageError(
            f"agent '{args.agent}' is not deployed in '{env}'", hint=f"it is deployed in: {envs}"
        )
    with invoker_for(res, state_dir(args.workspace), timeout=args.timeout) as inv:
        result = inv.invoke(_payload(args), session_id=args.session)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "format_version": 1,
                    "ok": result.ok,
                    "status_code": result.status_code,
                    "session_id": result.session_id,
                    "latency_ms": result.latency_ms,
                    "error": result.error,
                    "body": result.raw,
                },
                indent=2,
                ensure_ascii=False,
                default=str,
            )
        )
        return 0 if result.ok else 1
    if not result.ok:
        print(f"error: agent.{args.agent}[{env}]: {result.error}", file=sys.stderr)
        log = res.outputs.get("log_file")
        if log:
            print(f"  hint: see the agent's log: {log}", file=sys.stderr)
        return 1
    print(result.response.rstrip())
    if result.trajectory:
        print("\nTrajectory:")
        for i, step in enumerate(result.trajectory, 1):
            args_text = json.dumps(step.get("input", {}), ensure_ascii=False)
            print(f"  {i}. {step.get('tool')}({args_text})")
            delegated = step.get("delegated")
            if isinstance(delegated, list):
                for sub in delegated:
                    if isinstance(sub, dict):
                        print(
                            f"       ↳ {sub.get('tool')}("
                            f"{json.dumps(sub.get('input', {}), ensure_ascii=False)})"
                        )
    usage = result.usage
    extra = f", {usage.get('totalTokens')} tokens" if usage.get("totalTokens") else ""
    print(
        f"\n[{env} · {result.latency_ms:.0f} ms{extra} · session {result.session_id}]",
        file=sys.stderr,
    )
    return 0
