"""The first thing the smoke subset checks on a deployment: the gateway answers /health."""

import pytest


@pytest.mark.smoke
def test_health_answers(client):
    response = client.get("/health")
    assert response.status_code in (200, 503), response.text
    assert "runtime" in response.json()
