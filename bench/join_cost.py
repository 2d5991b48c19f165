"""``python -m bench.join_cost``: the server's CPU time for one queue join that opens a new session, against one the
door refuses (a new session past its address's share, answered before any handler runs) in the same server.

Issue 19's session wiper joins again and again, each time with a new session hash: what each such join costs the
server is what it takes from everyone else. Read from ``/proc`` (the server's user + system time) around 40 joins
of ``/choose_model`` from one address, after a warm-up from another address, then around 400 refused ones.

    python -m bench.join_cost
"""

from __future__ import annotations

import json
import os
import time
import uuid

import httpx

from bench.server import AppServer


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    server = AppServer()
    try:
        fn = {d.get("api_name"): d["id"] for d in httpx.get(server.url + "config").json()["dependencies"]}
        client = httpx.Client()

        def join(address: str) -> int:
            body = {"data": ["the default model (tiny Shakespeare)"], "fn_index": fn["choose_model"]}
            body["session_hash"] = uuid.uuid4().hex
            headers = {"content-type": "application/json", "x-forwarded-for": address}
            url = server.url + "gradio_api/queue/join"
            return client.post(url, content=json.dumps(body), headers=headers, timeout=60).status_code

        for _ in range(30):  # warm-up: first calls import and build what stays for the server's life
            join("10.66.0.8")
        pid, costs = server.process.pid, {}
        for label, count in (("new session", 40), ("refused", 400)):
            before = cpu_seconds(pid)
            codes = [join("10.66.0.9") for _ in range(count)]
            time.sleep(1.0)  # the handlers of the last joins finish
            costs[label] = (cpu_seconds(pid) - before) / count
            print(f"{label:12} {count} joins, answers {sorted(set(codes))}: {costs[label] * 1000:.2f} ms of CPU each")
        print(f"a join that opens a session costs ×{costs['new session'] / costs['refused']:.1f} a refused one")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
