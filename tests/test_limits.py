"""Limits and the public surface: a full queue answers "busy", the API cannot skip the queue, and nothing is
served that the app does not need."""

import httpx
import pytest
from gradio_client import Client
from gradio_client.utils import Status

from bench.server import AppServer
from tests.helpers import FINANCE, wait_until

pytestmark = pytest.mark.server


def test_a_full_queue_tells_the_visitor_to_try_again():
    server = AppServer(CHARLSTM_QUEUE_MAX="2", CHARLSTM_CONCURRENT_TRAININGS="1")
    try:
        clients = [Client(server.url, verbose=False) for _ in range(5)]
        # One at a time, each once the server has placed the one before (joins at the same moment can all pass
        # the size check): one trains, two wait, the rest find the queue full.
        placed = [RUNNING, WAITING, WAITING, REFUSED, REFUSED]
        jobs = []
        for n, (client, states) in enumerate(zip(clients, placed, strict=True), 1):
            job = client.submit(FINANCE.read_text(), 3, api_name="/train")
            wait_until(lambda job=job, states=states: job_state(job) in states or job.done(), f"job {n} placed")
            assert job_state(job) in states, f"job {n}: {job_state(job)}, expected one of {states}"
            jobs.append(job)
        outcomes = []
        for job in jobs:
            try:
                job.result()
                outcomes.append("done")
            except Exception as e:
                outcomes.append(str(e))
        assert outcomes[:3] == ["done"] * 3
        assert all("queue is full" in o.lower() and "try again" in o.lower() for o in outcomes[3:]), outcomes
        assert Client(server.url, verbose=False).predict("ROMEO:", 10, api_name="/generate")[0]  # still serving
    finally:
        server.stop()


RUNNING = {Status.PROCESSING, Status.PROGRESS, Status.ITERATING}
WAITING = {Status.IN_QUEUE}
REFUSED = {"refused"}


def job_state(job) -> Status | str:
    """The job's status, or "refused" once the server turned it away (the job then ends with an error)."""
    if job.done() and job.exception(timeout=0) is not None:
        return "refused"
    return job.status().code


@pytest.mark.parametrize("path", ["/etc/passwd", "README.md", "assets/default-model.safetensors", "../../etc/hosts"])
def test_files_outside_the_apps_own_downloads_are_not_served(app_server, path):
    response = httpx.get(app_server.url + "gradio_api/file=" + path)
    assert response.status_code in (403, 404)


def test_the_api_cannot_skip_the_queue(app_server):
    response = httpx.post(app_server.url + "gradio_api/run/generate", json={"data": ["x", 5, 0.8, 0, 1.0, 0]})
    assert response.status_code in (403, 404) and "queue" in response.text


def test_no_monitoring_endpoint_and_errors_leak_nothing(app_server):
    for path in ("monitoring", "gradio_api/monitoring", "no/such/page"):
        response = httpx.get(app_server.url + path)
        assert response.status_code in (403, 404)
        assert (
            "Traceback" not in response.text and "/work" not in response.text and "site-packages" not in response.text
        )
