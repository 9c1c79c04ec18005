"""Load generation for LoadTests: Locust in its own process, and the parent side around it.

Role: the engine's load engine. Two halves that never share a process:

* the **generator** (`runner`, `users`, `shape`, `recorder`) imports Locust first - Locust
  monkey-patches the standard library with gevent, which breaks anything that imported ssl
  before it (boto3, urllib3, httpx) - so it always runs as ``python -m engine.load.runner`` in
  a child process;
* the **parent** (`config`, `supervisor`, `analysis`, `report`) is standard library only: it
  writes the runner's config, supervises its processes, and turns raw samples into SLO
  verdicts and reports. `engine.providers.runs.loadtest` wires both into the reconciler.

`config` and `answer` are the only modules both halves import. This package's `__init__`
imports nothing, so ``python -m engine.load.runner`` reaches ``import locust`` first.
"""
