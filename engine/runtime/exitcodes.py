"""Exit codes of the agent host, shared by the host and the process manager (stdlib only).

Role: the parent turns a host's exit code into the reason of `AgentStartError`. The values
avoid the ones Python and uvicorn use (1: uncaught exception, 2: usage error from argparse,
3: uvicorn's lifespan start-up failure).
"""

from __future__ import annotations

EXIT_USAGE = 2  # bad arguments, unreadable token file
EXIT_IMPORT = 10  # the user's entrypoint raised while being imported
EXIT_NO_APP = 11  # no single BedrockAgentCoreApp in the entrypoint module
EXIT_BIND = 12  # the stable or the private port could not be bound
UVICORN_STARTUP_FAILURE = 3  # uvicorn's code when the app's lifespan start-up fails

MEANINGS = {
    EXIT_USAGE: "bad host arguments or token file",
    EXIT_IMPORT: "the agent's code raised while being imported",
    EXIT_NO_APP: "no BedrockAgentCoreApp to serve",
    EXIT_BIND: "a port could not be bound",
    UVICORN_STARTUP_FAILURE: "the app's lifespan start-up failed",
}
