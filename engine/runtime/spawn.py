"""Spawning the agent host: its environment, `posix_spawn`, and what it leaves behind.

Role: runs in the CLI (parent). The host (`python -m engine.runtime.host`) starts in a new
session with an allow-listed environment, its output appended to the agent's log; once up it
writes a ready file with its ports. The helpers here read that file, the log's tail, and
describe an exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import site
from collections.abc import Mapping
from pathlib import Path

from engine.runtime import exitcodes

_LOG_TAIL_LINES = 20
_LOG_TAIL_BYTES = 64 * 1024

# The parent's environment passes to agents only through this allow-list (plus the `env` of the
# agent's spec): locale, paths, proxies and CA bundles, and AWS settings, since a local agent that
# calls Bedrock plays the role AgentCore's execution role plays in the cloud.
_INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
_INHERITED_PREFIXES = ("LC_", "AWS_")


def child_env(env: Mapping[str, str], source: Path) -> dict[str, str]:
    child = {
        k: v
        for k, v in os.environ.items()
        if k in _INHERITED_ENV or k.startswith(_INHERITED_PREFIXES)
    }
    child.update(env)
    # The source directory, like the root of an AgentCore code bundle; then the engine itself
    # when it is not installed where the interpreter finds it anyway (a source checkout).
    paths = [str(source)]
    engine_root = str(Path(__file__).resolve().parents[2])
    if engine_root not in site.getsitepackages():
        paths.append(engine_root)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    child["PYTHONPATH"] = os.pathsep.join(paths)
    child["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
    return child


def spawn(argv: list[str], env: Mapping[str, str], log_file: Path) -> int:
    """posix_spawn the host: new session, stdin from /dev/null, stdout+stderr appended to the log.

    Not subprocess.Popen: the child must outlive this process, and a Popen object dropped while
    its child runs warns and keeps a zombie list. Here the pid is all we keep.
    """
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # Python's own descriptors are not inheritable, but ones handed to this process by its
    # parent may be; a long-lived agent must not hold someone else's pipe open.
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):
                if os.get_inheritable(fd):
                    actions.append((os.POSIX_SPAWN_CLOSE, fd))
    return os.posix_spawn(
        argv[0],
        argv,
        env,
        file_actions=actions,
        setsid=True,
        # Dispositions survive exec: a CLI started under nohup must not pass on SIG_IGN.
        setsigdef=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT),
    )


def log_tail(log_file: Path, offset: int) -> str:
    """The last lines written to `log_file` since byte `offset` (this start's output)."""
    try:
        with log_file.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, size - _LOG_TAIL_BYTES))
            data = fh.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def exit_text(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    meaning = exitcodes.MEANINGS.get(code)
    return f"exited with code {code}" + (f" ({meaning})" if meaning else "")


def read_ready(path: Path, pid: int) -> dict[str, int] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("pid") != pid:
        return None
    if not all(isinstance(info.get(k), int) for k in ("port", "private_port")):
        return None
    return {k: int(info[k]) for k in ("pid", "port", "private_port")}
