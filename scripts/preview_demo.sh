#!/usr/bin/env bash
# The pull-request comment a reviewer gets for a prompt change, end to end and offline
# (`make preview-demo`). In a temporary copy of the example workspace:
#   1. main: apply everything (as `make demo` does), so prd runs digests that passed their
#      gates (the baselines every later gate result is compared with);
#   2. the pull request: one sentence added to the docs assistant's system prompt;
#   3. `agentops preview --name pr-1 -o markdown`: the change's gates (and the experiment
#      it triggers) on a short-lived copy of their environments, torn down afterwards;
#      the comment is printed - the plan, each verdict with its deltas against prd's
#      digest, the estimated cost;
#   4. everything is destroyed and the copy removed; nothing is left running.
# Exit 0 whatever the verdict (a failed gate is what the comment is for); 1 on an error.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
A=$REPO/.venv/bin/agentops
PY=$REPO/.venv/bin/python
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentops-preview-demo.XXXXXX")
LOG=$WORK.log

step() { printf '\n== %s\n' "$*" >&2; }

cleanup() {
  if [ -d "$WORK" ]; then
    (cd "$WORK" && $A destroy --auto-approve >>"$LOG" 2>&1) || echo "destroy failed: see $LOG" >&2
    # nothing of main's agents, the preview's copy or its runs may still run
    left=$("$PY" - "$WORK" <<'EOF'
import json, sys
from pathlib import Path
from engine.providers.local.runtime import owned_processes
root = Path(sys.argv[1]) / ".agentops"
ids = [json.loads((root / "state.json").read_text())["workspace_id"]] if (root / "state.json").exists() else []
ids += [json.loads(m.read_text())["workspace_id"] for m in root.glob("previews/*/preview.json")]
print(sum(len(p) for i in ids for p in owned_processes(i).values()))
EOF
)
    rm -rf "$WORK"
    if [ "$left" != "0" ]; then echo "error: $left agent process(es) left running" >&2; exit 1; fi
    echo "Nothing left running; the temporary workspace is removed (log: $LOG)." >&2
  fi
}
trap cleanup EXIT

step "a temporary copy of the example workspace: $WORK"
cp -r specs environments agents evaluators prompts docs dataset.json load_config.json "$WORK/"
cd "$WORK"

step "main: agentops apply (the experiment, the gates, prd, the load test; about a minute)"
$A apply --auto-approve >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; exit 1; }
echo "applied: prd runs docs-assistant and orchestrator digests that passed their gates" >&2

step "the pull request: one sentence added to the docs assistant's prompt"
cp prompts/docs-assistant.md "$LOG.before"
printf 'Answer in at most two sentences.\n' >> prompts/docs-assistant.md
diff -u --label a/prompts/docs-assistant.md --label b/prompts/docs-assistant.md \
  "$LOG.before" prompts/docs-assistant.md >&2 || true
rm -f "$LOG.before"

step "agentops preview --name pr-1 -o markdown (about a minute): the comment"
set +e
$A preview --name pr-1 -o markdown 2>>"$LOG"
code=$?
set -e
case $code in
  0) echo "(exit 0: every gate passed)" >&2 ;;
  3) echo "(exit 3: a gate failed - the reviewer sees it before the merge)" >&2 ;;
  *) echo "error: agentops preview failed (exit $code); see $LOG" >&2; tail -n 20 "$LOG" >&2; exit 1 ;;
esac
