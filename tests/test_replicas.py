"""Many app replicas behind a real HAProxy (``python -m demo.replicas``): visitors stay on their replica, a
replica that dies costs only its own visitors their work (and they are told so), and the app's limits hold
behind the balancer.

Every visitor here is a real ``gradio_client.Client`` through the balancer. What makes that work: the client
keeps the cookies of its first request (``/config``: HAProxy's ``charlstm_replica`` and ``charlstm_visitor``, the
app's ``charlstm_boot``) and sends them with every later request (the queue join, the event stream, uploads),
but never updates them from later answers. So it stays on its replica; if that replica dies, the balancer
places its requests by the visitor cookie, and the join and its stream agree. A script can pin a client to a
replica by passing ``httpx_kwargs={"cookies": {"charlstm_replica": "r1"}}``. A browser updates its cookies from
every answer (``page`` below does too, as an ``httpx.Client``).

The tests wait for events (a reply, a log line); the deadlines only end a test that would otherwise hang.
"""

import json
import re
import subprocess
import sys
import threading
import uuid
from collections import Counter

import gradio as gr
import httpx
import pytest
from gradio_client import Client

from bench.server import ROOT, ReplicaServer
from demo.replicas import balancer
from tests.helpers import FINANCE, Visitor, wait_until
from tests.test_hostile import refused
from tests.test_limits import REFUSED, RUNNING, WAITING, job_state

pytestmark = pytest.mark.server
CORPUS = FINANCE.read_text()
QUEUE_MAX = 5  # per replica: the ten visitors (five a replica, one call each at a time) always fit


@pytest.fixture(scope="module")
def room():
    # Behind the balancer every visitor here has one address (127.0.0.1), and ten joins within a millisecond
    # are each "read by nobody" for the instant before their streams open: the per-address cap would refuse some.
    unread = {"CHARLSTM_CLIENT_UNREAD_TRAININGS": "10"}
    server = ReplicaServer(2, CHARLSTM_QUEUE_MAX=str(QUEUE_MAX), CHARLSTM_CONCURRENT_TRAININGS="1", **unread)
    yield server
    server.stop()


def visitor(room, replica: str = "") -> Client:
    """A visitor through the balancer: placed by it, or pinned to ``replica`` by its cookie."""
    cookies = {"charlstm_replica": replica} if replica else {}
    return Client(room.url, verbose=False, download_files=False, httpx_kwargs={"cookies": cookies})


def steps(status: str) -> int:
    return int(re.search(r"Step (\d+)", status)[1])


def test_the_launcher_refuses_bad_settings_naming_them():
    for args, message in (
        (["--replicas", "0"], "--replicas must be a whole number from 1 to"),
        (["--replicas", "two"], "--replicas must be a whole number from 1 to"),
        (["--cores-per-replica", "0"], "--cores-per-replica must be a whole number from 1 to"),
        (["--port", "70000"], "--port must be a whole number from 1 to 65535"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "demo.replicas", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, args


def test_the_balancer_configuration_is_valid_haproxy(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(balancer.config("127.0.0.1:7860", {"r1": 40001, "r2": 40002}, "127.0.0.2"))
    checked = subprocess.run([balancer.executable(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "balance source" not in path.read_text()  # never by address: a room behind one NAT is one address


def test_a_visitor_whose_work_was_in_another_process_is_told_once():
    from demo.server import identity, sessions

    came_back, here, fresh = Visitor(), Visitor(), Visitor()
    came_back.headers = {"cookie": f"{identity.COOKIE}=0123456789abcdef"}  # served before by another boot
    here.headers = {"cookie": f"other=1; {identity.COOKIE}={identity.BOOT}"}
    try:
        with pytest.raises(gr.Error, match="This server restarted; your session is gone"):
            sessions.get(came_back).active()
        assert sessions.get(came_back).active()[2] == sessions.DEFAULT_LABEL  # said once; then a fresh start
        for v in (here, fresh):
            assert sessions.get(v).active()[2] == sessions.DEFAULT_LABEL
    finally:
        for v in (came_back, here, fresh):
            sessions.drop(v)


def test_ten_visitors_keep_their_own_models_on_their_replica_and_both_replicas_serve(room):
    clients = [visitor(room) for _ in range(10)]
    assert Counter(c.cookies["charlstm_replica"] for c in clients) == {"r1": 5, "r2": 5}
    outcomes: dict[int, list | Exception] = {}

    def work(n: int, client: Client) -> None:
        try:
            trained = client.submit(CORPUS, 1, api_name="/train").result()[1]
            notes = [client.predict("The ", 10, 0.8, 0, 1.0, seed, api_name="/generate")[2] for seed in (1, 2)]
            continued = client.submit(CORPUS, 1, api_name="/continue").result()[1]
            notes.append(client.predict("The ", 10, api_name="/generate")[2])
            outcomes[n] = [trained, continued, notes]
        except Exception as e:  # reported below, with the visitor's number
            outcomes[n] = e

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, outcome in sorted(outcomes.items()):
        assert not isinstance(outcome, Exception), f"visitor {n}: {outcome!r}"
        trained, continued, notes = outcome
        assert all("with your model" in note for note in notes), (n, notes)
        assert steps(continued) > steps(trained), (n, trained, continued)  # the same run, on the same replica


def test_a_script_whose_replica_is_gone_stays_on_one_replica_while_both_are_up(room):
    # Its cookie names a replica that is not there (as a gradio_client's does after its replica died, for it
    # never updates its cookies): every request is placed by its visitor cookie, so the join and its event
    # stream meet on one replica, call after call (by round robin they would part: "Session not found").
    script = visitor(room, "r9")
    trained = script.submit(CORPUS, 1, api_name="/train").result()[1]
    notes = [script.predict("The ", 10, 0.8, 0, 1.0, seed, api_name="/generate")[2] for seed in range(3)]
    assert all("with your model" in note for note in notes), notes
    assert steps(script.submit(CORPUS, 1, api_name="/continue").result()[1]) > steps(trained)


def test_the_api_still_cannot_skip_the_queue_behind_the_balancer(room):
    response = httpx.post(room.url + "gradio_api/run/generate", json={"data": ["x", 5, 0.8, 0, 1.0, 0]})
    assert response.status_code in (403, 404) and "queue" in response.text


def test_a_full_replica_queue_tells_its_visitor_to_try_again_through_the_balancer(room):
    # One training runs on r2 (until it is stopped), QUEUE_MAX wait, the next is refused; each joins once the one
    # before is placed.
    placed = [RUNNING] + [WAITING] * QUEUE_MAX + [REFUSED]
    clients = [visitor(room, "r2") for _ in placed]
    jobs = []
    for n, (client, states) in enumerate(zip(clients, placed, strict=True), 1):
        job = client.submit(CORPUS, 120 if n == 1 else 1, api_name="/train")
        wait_until(lambda job=job, states=states: job_state(job) in states or job.done(), f"job {n} placed")
        assert job_state(job) in states, f"job {n}: {job_state(job)}, expected one of {states}"
        jobs.append(job)
    message = refused(jobs[-1].result, match="queue is full")
    assert "try again" in message.lower()
    jobs[0].cancel()  # (Stop is an event too: with the queue full, it would be refused as well)
    assert all("best validation" in job.result()[1] for job in jobs[1:-1])


def test_only_the_balancer_may_say_who_the_visitor_is(room):
    claim = {"x-forwarded-for": "203.0.113.9"}  # a client claiming another address
    through = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    assert through.get(room.url + "healthz", headers=claim).json()["client"] == "127.0.0.3"  # the real one
    direct = httpx.get(room.replicas["r1"] + "healthz", headers=claim).json()
    assert direct == {"replica": "r1", "boot": direct["boot"], "client": "127.0.0.1"}  # not trusted from it


def test_a_local_program_on_the_balancers_own_address_cannot_claim_one(room):
    local = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))  # where HAProxy connects from
    direct = local.get(room.replicas["r1"] + "healthz", headers={"x-forwarded-for": "203.0.113.9"}).json()
    assert direct["client"] == "127.0.0.2"  # before: 203.0.113.9, believed from the balancer's address
    forged = {"x-forwarded-for": "203.0.113.9", "x-charlstm-balancer": "guessed"}
    assert local.get(room.replicas["r1"] + "healthz", headers=forged).json()["client"] == "127.0.0.2"


def _call(page: httpx.Client, api_name: str, data: list, session: str) -> dict:
    """One call as a page makes it: join the queue, then read the event stream to the final message."""
    config = page.get("config").json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name.lstrip("/"))
    page.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session})
    with page.stream("GET", "gradio_api/queue/data", params={"session_hash": session}, timeout=60) as events:
        for line in events.iter_lines():
            if line.startswith("data:") and (message := json.loads(line[5:])).get("msg") == "process_completed":
                return message
    raise AssertionError("the stream ended without a result")


def test_a_replica_killed_mid_run_costs_only_its_visitors_their_work_and_they_are_told(room):
    victim, other = visitor(room, "r1"), visitor(room, "r2")
    page = httpx.Client(base_url=room.url, cookies={"charlstm_replica": "r1"})  # keeps cookies as a browser does
    page.get("")  # the page loads (and gets r1's boot cookie)
    page_session = uuid.uuid4().hex
    assert _call(page, "/generate", ["The ", 10, 0.8, 0, 1.0, 0], page_session)["success"]
    assert "best validation" in victim.submit(CORPUS, 1, api_name="/train").result()[1]
    running = victim.submit(CORPUS, 120, api_name="/train")
    carrying_on = other.submit(CORPUS, 3, api_name="/train")
    wait_until(lambda: len(running.outputs()) >= 2, "the victim's training streams")
    room.kill("r1")
    wait_until(running.done, "the victim's stream ends")  # gradio_client calls a cut stream "cancelled"
    wait_until(lambda: "replica r1 exited" in room.log_tail(200), "the launcher reports the loss")
    # The victim's next call lands on r2, which never saw it: it is told, once, then starts afresh.
    refused(victim.predict, "The ", 10, api_name="/generate", match="This server restarted; your session is gone")
    assert "with the default model" in victim.predict("The ", 10, api_name="/generate")[2]
    # A page whose replica died: its heartbeat comes back (to r2), then it asks for something.
    with page.stream("GET", f"gradio_api/heartbeat/{page_session}", timeout=30) as heartbeat:
        next(heartbeat.iter_lines())
    answer = _call(page, "/generate", ["The ", 10, 0.8, 0, 1.0, 0], page_session)
    assert not answer["success"] and "This server restarted" in answer["output"]["error"]
    # The other replica's visitor carries on: its training finished, its model is there.
    assert "best validation" in carrying_on.result()[1]
    assert "with your model" in other.predict("The ", 10, api_name="/generate")[2]
    assert visitor(room).cookies["charlstm_replica"] == "r2"  # newcomers go to the replica that is up


def test_stopping_the_launcher_stops_every_process(room):
    room.process.terminate()  # SIGTERM, as a service manager stops it (Ctrl-C is the same)
    room.process.wait(60)

    def gone(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ")[1].startswith("Z")  # a zombie has stopped
        except FileNotFoundError:
            return True

    wait_until(lambda: all(gone(pid) for pid in room.pids.values()), "every process stops", timeout=30)
    assert "charlstm: stopped." in room.log_tail()
