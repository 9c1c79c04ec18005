# syntax=docker/dockerfile:1
#
# One image per agent, for Amazon Bedrock AgentCore Runtime (`deploy: container`).
#
# AgentCore runs linux/arm64 containers that serve the runtime contract on port 8080
# (POST /invocations, GET /ping). agentops builds this file in CodeBuild on an arm64 builder,
# once per agent, with the agent's files as the only build context:
#
#   docker build --platform linux/arm64 \
#     --build-arg SOURCE_DIR=agents \
#     --build-arg AGENT_ENTRYPOINT=orchestrator/app.py \
#     --build-arg REQUIREMENTS=requirements.txt \
#     -t <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<agent>-<env>-<hash>-<content> .
#
# Images are tagged by content, never `latest`. The base image is the multi-arch official
# Python image (it has an arm64 variant), pinned to a minor version and Debian release;
# pin it by digest (python:3.11-slim-bookworm@sha256:...) for fully reproducible builds.
FROM python:3.11-slim-bookworm

# Where the agent's code lives in the workspace, its entrypoint and requirements (relative
# to SOURCE_DIR) - the Agent spec's `source`, `entrypoint` and `requirements`.
ARG SOURCE_DIR=agents
ARG AGENT_ENTRYPOINT
ARG REQUIREMENTS=requirements.txt

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # bedrock-agentcore's app.run() binds 0.0.0.0 (not 127.0.0.1) only inside a container.
    DOCKER_CONTAINER=1

# An unprivileged user: the agent never runs as root.
RUN groupadd --system --gid 10001 agent \
    && useradd --system --uid 10001 --gid agent --home-dir /app --shell /usr/sbin/nologin agent

WORKDIR /app

# Dependencies first, so a code-only change reuses this layer.
COPY ${SOURCE_DIR}/${REQUIREMENTS} /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The workspace layout is kept (/app/<source>/...), as in the local runtime and the code zip.
COPY --chown=10001:10001 ${SOURCE_DIR}/ /app/${SOURCE_DIR}/
RUN test -n "${AGENT_ENTRYPOINT}" && test -f "/app/${SOURCE_DIR}/${AGENT_ENTRYPOINT}"
ENV AGENT_ENTRYPOINT=/app/${SOURCE_DIR}/${AGENT_ENTRYPOINT}

USER 10001:10001

# The AgentCore runtime contract's port.
EXPOSE 8080

# exec: the agent is PID 1 and receives SIGTERM directly.
CMD ["sh", "-c", "exec python \"$AGENT_ENTRYPOINT\""]
