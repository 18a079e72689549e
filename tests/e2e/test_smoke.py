"""Smoke test: the system answers /health. To be replaced by the real e2e tests."""


def test_health_answers(client):
    response = client.get("/health")
    assert response.status_code in (200, 503), response.text
    assert "runtime" in response.json()
