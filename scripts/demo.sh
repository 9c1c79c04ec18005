#!/usr/bin/env bash
# The main job, end to end, on the embedded default (local runtime + local store; no AWS,
# no Langfuse account, no network): validate, plan, apply (deploy agents, sync the golden
# dataset, run the experiment, pass the quality gate, promote to prd, load-test prd), then
# show status, ask the agents a question, and say where the reports are.
set -euo pipefail
cd "$(dirname "$0")/.."
A=.venv/bin/agentops
# bold headings on a terminal only: through make, a pipe or CI the log stays plain text
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi

step "agentops validate"
$A validate
# The reviewed plan is the applied plan: `plan --out` saves it, `apply PLANFILE` applies
# exactly it (and refuses if the state moved on), so the plan is printed once.
step "agentops plan --out .agentops/demo.plan"
$A plan --out .agentops/demo.plan
step "agentops apply .agentops/demo.plan"
$A apply .agentops/demo.plan
step "agentops status"
$A status
step "agentops invoke docs-assistant (prd)"
$A invoke docs-assistant "How does agentops keep secrets out of plans and state?" --env prd
step "agentops invoke orchestrator (prd): delegates to the specialist over A2A"
$A invoke orchestrator "What are the mean and median of 3, 5, 8 and 13?" --env prd
step "production traffic: users ask the docs assistant in prd (every call is a trace)"
for q in "Can agentops deploy agents to Kubernetes?" \
         "How do I roll back a bad prompt change?" \
         "Where do the load test reports go?"; do
  $A invoke docs-assistant "$q" --env prd >/dev/null 2>&1
  echo "asked: $q"
done
step "agentops apply --target monitor.prd-quality[prd]: the Monitor scores the new traces"
$A apply --auto-approve --target 'monitor.prd-quality[prd]'
step "agentops traces docs-assistant --env prd"
$A traces docs-assistant --env prd --source production --limit 5
step "agentops annotate prd-review --list: what the Monitor routed to a person"
$A annotate prd-review --list | head -n 8
step "agentops dataset propose golden --from prd-quality: the loop back into the dataset"
$A dataset propose golden --from prd-quality --limit 3
step "agentops plan (again): nothing to do"
$A plan
printf '\nReports: .agentops/reports/   (HTML: agentops report --out report.html)\n'
printf 'The agents keep running; stop everything with: make clean-demo\n'
