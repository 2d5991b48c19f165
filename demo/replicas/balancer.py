"""The load balancer in front of the replicas: HAProxy's configuration, from the template
``deploy/haproxy.cfg``, and where its program is (see :mod:`demo.replicas`)."""

from __future__ import annotations

import secrets
import shutil
import socket
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
# The balancer connects to the replicas from this loopback address. Any local program can bind it too, so the
# replicas believe the balancer's X-Forwarded-For only beside a secret header it adds (demo.server.presence.Balancer).
BALANCER_SOURCE = "127.0.0.2"
SECRET_HEADER = "x-charlstm-balancer"


def executable() -> str:
    """HAProxy's program (``/usr/sbin`` is not on every user's PATH); ends with a message if it is missing."""
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if haproxy is None:
        raise SystemExit("HAProxy is not installed: apt-get install haproxy (Debian), or your system's package.")
    return haproxy


def balancer_source() -> str:
    """127.0.0.2 where the system routes all of 127.0.0.0/8 to loopback (Linux); else 127.0.0.1, where every
    local program is as trusted as the balancer."""
    try:
        with socket.socket() as s:
            s.bind((BALANCER_SOURCE, 0))
        return BALANCER_SOURCE
    except OSError:
        return "127.0.0.1"


def max_connections() -> int:
    """HAProxy needs two descriptors a connection (visitor and replica): stay within what the system allows."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 4096 if hard == resource.RLIM_INFINITY else max(64, min(4096, (hard - 200) // 2))


def new_secret() -> str:
    """A run's secret: what the balancer adds to every request, and the replicas check."""
    return secrets.token_urlsafe(24)


def config(bind: str, ports: dict[str, int], source: str, secret: str | None = None) -> str:
    """The balancer's configuration: the template with this run's address, replicas, limits and secret."""
    servers = "\n".join(f"    server {name} 127.0.0.1:{port} cookie {name}" for name, port in ports.items())
    fields = {"bind": bind, "servers": servers, "source": source, "maxconn": max_connections()}
    fields["secret"] = secret or new_secret()
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(fields)
