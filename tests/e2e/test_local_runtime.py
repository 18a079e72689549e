"""The local runtime's own promises: the production interpreter, start-up, the cron door."""

from urllib.parse import quote

import pytest

from tests.toolchain.tools import PINS

from .test_faults import DOOR as FAULTS_DOOR


def test_health_names_the_pyodide_release_workerd_runs(api, local):
    runtime = api.get("/health").json()["runtime"]
    assert runtime == {**runtime, "pyodide": PINS["pyodide"], "platform": "emscripten", "python": "3.14.2"}
    assert local.info["runtime"]["pyodide"] == PINS["pyodide"]


def test_first_answer_is_a_healthy_one(local):
    """/health was asked from the moment the runtime was spawned: no 'still starting'."""
    assert local.first_health_status == 200


def door(api, path, **params):
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return api.post(f"{path}?{query}")


@pytest.mark.parametrize("path", ["/cdn-cgi/local/scheduled", "/cdn-cgi/handler/scheduled"])
def test_scheduled_door_runs_the_named_worker(api, local, path):
    response = door(api, path, worker="orders", cron="*/15 * * * *")
    assert response.status_code == 200, response.text
    assert response.json() == {"worker": "orders", "cron": "*/15 * * * *", "outcome": "ok"}


def test_scheduled_door_without_worker_runs_the_workers_with_that_cron(api, local):
    response = door(api, "/cdn-cgi/local/scheduled", cron="0 3 * * *")
    assert response.status_code == 200, response.text
    assert response.json() == {"worker": "users", "cron": "0 3 * * *", "outcome": "ok"}


def test_scheduled_door_without_anything_runs_every_cron_worker(api, local):
    response = api.post("/cdn-cgi/local/scheduled")
    assert response.status_code == 200, response.text
    assert sorted(run["worker"] for run in response.json()["runs"]) == ["gateway", "orders", "users"]


def test_scheduled_door_names_the_workers_it_knows(api, local):
    response = door(api, "/cdn-cgi/local/scheduled", worker="billing")
    assert response.status_code == 404
    assert {w["worker"] for w in response.json()["workers"]} == {"gateway", "users", "orders"}


def test_a_failed_cron_run_fails_at_the_door_and_in_the_log(api, local, expect_error):
    """The users' database down: every maintenance task fails and the run ends failed, as
    operators would see it (the door's outcome, error lines naming the task)."""
    assert api.post(f"{FAULTS_DOOR}?worker=users&fault=d1-error").status_code == 200
    try:
        response = door(api, "/cdn-cgi/local/scheduled", worker="users", cron="0 3 * * *")
    finally:
        api.post(f"{FAULTS_DOOR}?worker=users&fault=none")
    assert response.status_code == 500, response.text
    assert response.json()["worker"] == "users" and response.json()["outcome"] != "ok"
    expect_error("maintenance task failed")
    expect_error("bridge failed")  # how the runtime logs the handler's exception (the summary's write failed too)


def test_the_fault_door_answers_the_faults_in_force_workflow_steps_too(api, local):
    """Its GET shows what a test left behind: a worker's fault and its steps still to fail
    (attempts left, or "always"); `fault=none` clears both. The steps named run nowhere."""
    first = door(api, FAULTS_DOOR, worker="users", fault="step-fails", step="no such step", times="2")
    assert first.status_code == 200, first.text
    try:
        door(api, FAULTS_DOOR, worker="users", fault="step-fails", step="nor this one", times="always")
        steps = {"edge-users": {"no such step": 2, "nor this one": "always"}}
        assert api.get(FAULTS_DOOR).json() == {"faults": {}, "step_fails": steps}
    finally:
        cleared = door(api, FAULTS_DOOR, worker="users", fault="none")
    assert cleared.json() == api.get(FAULTS_DOOR).json() == {"faults": {}, "step_fails": {}}
