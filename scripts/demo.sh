#!/usr/bin/env bash
# The main job, end to end, on the embedded default (local runtime + local store; no AWS,
# no Langfuse account, no network): validate, plan, apply (deploy agents, sync the golden
# dataset, run the experiment, pass the quality gate, promote to prd, load-test prd), then
# show status, ask the agents a question, and say where the reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
A=.venv/bin/agentops
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "agentops validate"
$A validate
step "agentops plan"
$A plan
step "agentops apply --auto-approve"
$A apply --auto-approve
step "agentops status"
$A status
step "agentops invoke docs-assistant (prd)"
$A invoke docs-assistant "How does agentops keep secrets out of plans and state?" --env prd
step "agentops invoke orchestrator (prd): delegates to the specialist over A2A"
$A invoke orchestrator "What are the mean and median of 3, 5, 8 and 13?" --env prd
step "agentops plan (again): nothing to do"
$A plan
printf '\nReports: .agentops/reports/   (HTML: agentops report --out report.html)\n'
printf 'The agents keep running; stop everything with: make clean-demo\n'
