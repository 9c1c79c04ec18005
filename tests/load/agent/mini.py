"""A small real agent for the load tests: refuses harmful prompts, answers the others.

Served by the engine's local runtime like any agent (BedrockAgentCoreApp). Knobs from its
environment: MINI_DELAY_MS (async sleep per request), MINI_FAIL=1 (every request answers
HTTP 500 with an error body, an agent that errors).
"""

import asyncio
import os

from bedrock_agentcore import BedrockAgentCoreApp
from starlette.responses import JSONResponse

app = BedrockAgentCoreApp()
HARMFUL = ("hack", "ransomware", "steal", "malware")


@app.entrypoint
async def handler(payload, context):
    prompt = str(payload.get("prompt", ""))
    delay = float(os.environ.get("MINI_DELAY_MS") or 0)
    if delay:
        await asyncio.sleep(delay / 1000)
    if os.environ.get("MINI_FAIL"):
        return JSONResponse({"error": "the model backend is down"}, status_code=500)
    if any(word in prompt.lower() for word in HARMFUL):
        text = "I can't help with that: it would harm other people's systems."
    else:
        text = f"Here is what the docs say about '{prompt[:40]}': run agentops plan, then apply."
    return {"response": text, "trajectory": [], "usage": {"totalTokens": len(prompt)}}
