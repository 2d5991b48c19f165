"""``python -m demo.replicas --replicas N``: N app processes on loopback ports, each with its share of the
cores, behind HAProxy on one address, for a room that outgrows one process (the README's "Many replicas behind
a load balancer").

Each replica is ``python -m demo`` with its name (``CHARLSTM_REPLICA``), its cores (``CHARLSTM_CORES``), its
part of the machine's model memory and sessions, and a folder for its files (removed at the end). The balancer's
configuration is ``deploy/haproxy.cfg`` filled in. Ctrl-C or SIGTERM stops everything; a replica that dies is
reported, and the others carry on with its visitors (they are told their session is gone); if the balancer dies,
everything stops.

The folder: this launcher (``__main__.py`` runs it) and :mod:`demo.replicas.balancer`, the HAProxy configuration
and program in front of the replicas; the app itself does not import either.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..server import limits
from . import balancer

ROOT = Path(__file__).resolve().parents[2]  # the repository
START_SECONDS = 180  # the most a replica may take to answer (importing torch and Gradio on a busy machine)


@dataclass
class Child:
    """A process the launcher started, its output echoed line by line with its name in front."""

    name: str
    process: subprocess.Popen
    url: str = ""
    tail: deque = field(default_factory=lambda: deque(maxlen=20))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = limits.usable_cores()
    parser = argparse.ArgumentParser(prog="python -m demo.replicas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="2", help=f"app processes, 1 to {cores} (the cores this process may use)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="the balancer's")
    parser.add_argument("--port", default=os.environ.get("GRADIO_SERVER_PORT", "7860"), help="the balancer's")
    parser.add_argument("--cores-per-replica", help="torch's cores for each (default: the cores ÷ replicas)")
    args = parser.parse_args(argv)
    args.replicas = whole(args.replicas, "--replicas", 1, cores)
    args.port = whole(args.port, "--port", 1, 65535)
    default = str(max(1, cores // args.replicas))
    args.cores_per_replica = whole(args.cores_per_replica or default, "--cores-per-replica", 1, cores)
    return args


def whole(value: str, name: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high``, or the launcher ends with a message naming it."""
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SystemExit(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
    return number


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica_env(
    name: str, port: int, replicas: int, cores: int, files: Path, source: str, secret: str = ""
) -> dict[str, str]:
    """A replica's environment: its address and name, its cores, its share of the machine's model memory and
    sessions (the caps, set or default, are read as totals for the machine), and the balancer's secret."""
    files.mkdir()
    return os.environ | {
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(files),
        "TMPDIR": str(files),
        # uvicorn believes no X-Forwarded-For: the replica believes the balancer's beside its secret (any local
        # program can bind the balancer's source address)
        "FORWARDED_ALLOW_IPS": "",
        "CHARLSTM_BALANCER_SECRET": secret,
        "CHARLSTM_REPLICA": name,
        "CHARLSTM_CORES": str(cores),
        "CHARLSTM_MEMORY_BUDGET_MB": str(limits.MEMORY_BUDGET_MB / replicas),
        "CHARLSTM_SESSIONS_MAX": str(max(1, limits.SESSIONS_MAX // replicas)),
    }


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if the launcher itself is killed, so nothing is left behind.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(name: str, command: list[str], env: dict[str, str], ended: threading.Event) -> Child:
    """Start a child whose output is echoed with its name in front; ``ended`` is set when it exits."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
    )
    child = Child(name, process)

    def echo() -> None:
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            child.tail.append(line)
            print(f"[{name}] {line}", flush=True)
        process.wait()
        ended.set()

    threading.Thread(target=echo, name=f"echo-{name}", daemon=True).start()
    return child


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def wait_until_answering(children: list[Child]) -> None:
    """Wait until every child answers its health check; end with its last lines if one exits first."""
    deadline = time.monotonic() + START_SECONDS
    waiting = list(children)
    while waiting:
        for child in list(waiting):
            if child.process.poll() is not None:
                lines = "\n".join(child.tail)
                raise SystemExit(f"{child.name} exited with status {child.process.returncode}:\n{lines}")
            if answers(child.url):
                waiting.remove(child)
        if time.monotonic() > deadline:
            raise SystemExit(f"{', '.join(c.name for c in waiting)} did not answer within {START_SECONDS} s.")
        time.sleep(0.2)  # the poll interval


def stop(children: list[Child]) -> None:
    """Stop every child still running (SIGTERM, then SIGKILL after 10 s) and wait for each."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    for child in children:
        try:
            child.process.wait(10)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    haproxy = balancer.executable()  # refuses now if HAProxy is missing
    with socket.socket() as s:  # refuse now, not after the replicas started, if the address is taken
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as HAProxy binds: a recent run's port is free
        try:
            s.bind((args.host, args.port))
        except OSError as e:
            raise SystemExit(f"{args.host}:{args.port} cannot be used ({e.strerror}): choose another --port.") from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as Ctrl-C: stop everything on the way out
    root = Path(tempfile.mkdtemp(prefix="charlstm-replicas-"))
    ended, children = threading.Event(), []
    try:
        source, secret = balancer.balancer_source(), balancer.new_secret()
        ports = {f"r{i}": free_port() for i in range(1, args.replicas + 1)}
        for name, port in ports.items():
            env = replica_env(name, port, args.replicas, args.cores_per_replica, root / name, source, secret)
            children.append(start(name, [sys.executable, "-m", "demo"], env, ended))
            children[-1].url = f"http://127.0.0.1:{port}/"
        wait_until_answering(children)
        for child in children:
            print(f"charlstm: replica {child.name} (pid {child.process.pid}) at {child.url}", flush=True)
        path = root / "haproxy.cfg"
        path.write_text(balancer.config(f"{args.host}:{args.port}", ports, source, secret), encoding="utf-8")
        front = start("haproxy", [haproxy, "-db", "-f", str(path)], os.environ.copy(), ended)
        front.url = f"http://{args.host}:{args.port}/"
        children.append(front)
        wait_until_answering([front])
        print(
            f"charlstm: {args.replicas} replicas behind HAProxy (pid {front.process.pid}) at {front.url}, "
            f"{args.cores_per_replica} core(s) each (Ctrl-C stops them all)",
            flush=True,
        )
        return supervise(children, ended)
    except KeyboardInterrupt:
        return 0
    finally:
        stop(children)
        shutil.rmtree(root, ignore_errors=True)
        if children:
            print("charlstm: stopped.", flush=True)


def supervise(children: list[Child], ended: threading.Event) -> int:
    """Wait for children to exit: a replica that dies is reported and the others serve on; when the balancer or
    the last replica goes, everything stops (status 1)."""
    reported: set[str] = set()
    while True:
        ended.wait(1.0)  # woken at once by an exit; the timeout only lets Ctrl-C through
        ended.clear()
        for child in children:
            if child.process.poll() is None or child.name in reported:
                continue
            reported.add(child.name)
            status = child.process.returncode
            if child.name == "haproxy":
                print(f"charlstm: HAProxy exited (status {status}): stopping the replicas.", flush=True)
                return 1
            print(
                f"charlstm: replica {child.name} exited (status {status}); its visitors' sessions are lost, and "
                "the balancer sends them to the other replicas, which tell them so.",
                flush=True,
            )
        if all(c.name in reported for c in children if c.name != "haproxy"):
            print("charlstm: no replica is left: stopping.", flush=True)
            return 1
