"""Launch the app as a visitor meets it: ``python -m demo`` in a subprocess on a free loopback port, or
``python -m demo.replicas`` (app replicas behind HAProxy) with the balancer on that port.

Shared by the tests, the app benchmark and the load script.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# What a Hugging Face Space's container sets (its server name is 0.0.0.0 there; loopback here, as every test binds)
SPACE_ENV = {
    "SYSTEM": "spaces",
    "SPACE_ID": "someone/charlstm",
    "SPACE_AUTHOR_NAME": "someone",
    "SPACE_REPO_NAME": "charlstm",
    "SPACE_HOST": "someone-charlstm.hf.space",
    "CPU_CORES": "2",
    "MEMORY": "16Gi",
    "GRADIO_SERVER_NAME": "127.0.0.1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


class AppServer:
    """``python -m demo`` in a subprocess on a free loopback port, as a visitor would meet it (``python``: another
    interpreter, such as a fresh virtual environment's)."""

    def __init__(
        self, command: tuple[str, ...] = ("-m", "demo"), cwd: Path = ROOT, python: str = sys.executable, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # Its files (Gradio's copies of every download, each session's model) in a folder of its own, removed
        # when it stops: a stopped server never cleans its cache, and a 15 MB model per training adds up.
        self.files = tempfile.mkdtemp(prefix="charlstm-server-")
        environ = os.environ | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port)}
        environ |= {"GRADIO_TEMP_DIR": self.files, "TMPDIR": self.files} | env
        self.log = tempfile.NamedTemporaryFile("w+", prefix="charlstm-app-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [python, *command], cwd=cwd, env=environ, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait()

    def _wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the app did not start in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the app's output (its log, for a failing test's message)."""
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.files, ignore_errors=True)


class ReplicaServer(AppServer):
    """``python -m demo.replicas``: ``replicas`` app processes behind HAProxy, the balancer on a free loopback
    port; ``pids`` names each process (``r1``..., ``haproxy``), ``replicas`` each replica's own address;
    ``env`` reaches every replica."""

    READY = re.compile(r"replicas behind HAProxy \(pid (\d+)\)")

    def __init__(self, replicas: int = 2, **env: str) -> None:
        self.pids: dict[str, int] = {}
        self.replicas: dict[str, str] = {}
        super().__init__(("-m", "demo.replicas", "--replicas", str(replicas)), **env)

    def _wait(self, timeout: float = 240) -> None:
        super()._wait(timeout)  # the balancer answers: the launcher says so right after
        deadline = time.monotonic() + 30
        while not (ready := self.READY.search(self.log_tail(200))):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the launcher did not say it was ready:\n{self.log_tail()}")
            time.sleep(0.1)
        started = re.findall(r"replica (r\d+) \(pid (\d+)\) at (\S+)", self.log_tail(200))
        self.pids = {name: int(pid) for name, pid, _url in started}
        self.replicas = {name: url for name, _pid, url in started}
        self.pids["haproxy"] = int(ready[1])

    def kill(self, name: str) -> None:
        """Kill one process at once (SIGKILL), as a crash or the kernel's out-of-memory killer would."""
        os.kill(self.pids[name], signal.SIGKILL)

    def rss_mb(self) -> float:
        """The memory of every process still running (the replicas and the balancer)."""
        total = 0.0
        for pid in self.pids.values():
            try:
                total += rss_mb(pid)
            except (FileNotFoundError, StopIteration):  # gone (or a zombie, which holds nothing)
                continue
        return total
