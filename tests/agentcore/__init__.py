"""Tests of the AgentCore provider, offline, against moto 5.2.5 (in-process and server mode).

Where moto differs from AWS, the TESTS adapt (conftest.py), never the provider:

* UpdateAgentRuntime leaves a runtime UPDATING forever (moto models only CREATING -> READY),
  and UpdateAgentRuntimeEndpoint leaves the endpoint UPDATING with its old liveVersion. AWS
  settles both to READY, the endpoint serving the new version. `patch_moto_transitions`
  adds UPDATING -> READY (and moves liveVersion) in this process, which also covers a
  ThreadedMotoServer started here. Without it the provider's wait would time out (its
  `aws.readyTimeout`, 20 s in these tests) - as it would against a stuck AWS.
* moto's UpdateAgentRuntime keeps the old environment variables (and description, protocol,
  lifecycle) when a field is left out; AWS replaces the whole configuration, so a partial
  update silently drops them. The provider always sends the full configuration, and the
  update test asserts every variable is still there afterwards.
* moto requires `networkConfiguration` (KeyError / HTTP 500 without it); the provider always
  sends it anyway, so nothing to adapt.
* moto's runtime ARN is `...:agent/<uuid>:<version>` and changes with every update; AWS's is
  `...:runtime/<name>-<suffix>` and stable. The provider keys state by runtime id, never
  parses ARNs, and keeps the ARN it injected into callers. Tests compare ARNs only with
  what state recorded.
* moto keeps tags per ARN, so they are "lost" after an update (the new ARN has none). The
  provider re-tags after every update (a no-op on AWS), so nothing to adapt; tests read
  tags from the current ARN.
* moto allows several runtimes with the same name (AWS refuses with ConflictException).
  Crash tests assert there are no duplicates; recovery deletes owned duplicates.
* moto ignores `clientToken` (no idempotency): recovery cannot rely on AWS replaying a
  create, so it finds runtimes by name and by the `agentops:token` tag instead.
* moto validates no name patterns or tag values (AWS rejects `[`/`]` in tag values: the
  address is tagged as `agent.x@env`); `test_units` checks names and tags against AWS's rules.
* moto creates no DEFAULT endpoint (AWS does); the provider owns its own `live` endpoint.
* moto's CodeBuild runs nothing and reports SUCCEEDED at once; `patch_moto_codebuild` makes
  a started build register the image its IMAGE_URI override names in moto's ECR.
  moto has no `codebuild:UpdateProject`; the provider never needs it.
* moto has no data plane (InvokeAgentRuntime raises NotImplementedError / HTTP 500):
  `fake_data_plane.FakeDataPlane` speaks it on 127.0.0.1 and forwards to local agents.
* moto accepts any role (no trust or permission checks) and never reports IAM propagation
  delays, AccessDenied or quotas: error translation is unit-tested with botocore errors,
  and real permissions only by the opt-in live test (`pytest -m live`).
"""
