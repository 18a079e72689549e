"""The gateway's own duties: health, headers, routing answers, CORS, limits, auth, OpenAPI."""

import base64
import hashlib
import hmac
import json
import time

import pytest

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.smoke
def test_health_reports_services_and_pyodide_runtime(api, live):
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["services"] == {"users": "ok", "orders": "ok"}
    assert body["runtime"]["platform"] == "emscripten"
    assert body["runtime"]["python"].startswith("3.14")


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/health", "/nope", "/api/users/me"])
def test_security_headers_and_request_id_on_every_response(api, path):
    response = api.get(path, headers={"X-Request-ID": "client-id_1.2"})
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["x-request-id"] == "client-id_1.2"


def test_insane_request_id_replaced(api):
    response = api.get("/health", headers={"X-Request-ID": "no spaces allowed!"})
    assert response.headers["x-request-id"] != "no spaces allowed!"
    assert len(response.headers["x-request-id"]) >= 16


def test_request_id_reaches_service_logs(api, live):
    if not live.local:
        pytest.skip("service logs are visible only for the local runtime")
    since = live.mark()
    api.get("/health", headers={"X-Request-ID": "trace-health-1"})
    for worker in ("gateway", "users", "orders"):
        live.wait_for_log(
            lambda r, w=worker: r.get("request_id") == "trace-health-1" and r.get("worker") == w, since=since
        )


def test_unknown_route_404(api):
    assert_problem(api.get("/api/nothing-here"), 404)


def test_wrong_method_405_with_allow(api):
    response = api.put("/api/orders")
    assert_problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def test_cors_preflight_allowed_origin(api):
    response = api.options(
        "/api/orders",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_cors_other_origin_gets_no_allow_origin(api):
    preflight = api.options(
        "/api/orders", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    plain = api.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers
    allowed = api.get("/health", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_malformed_json_400(api):
    response = api.post("/api/auth/register", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_validation_422_with_field_errors(api):
    response = api.post("/api/auth/register", json={"email": "not-an-email", "password": "short", "name": ""})
    body = assert_problem(response, 422)
    fields = {tuple(error["loc"])[-1] for error in body["errors"]}
    assert {"email", "password", "name"} <= fields
    assert all(set(error) >= {"loc", "msg"} for error in body["errors"])


def test_non_json_body_415(api):
    response = api.post(
        "/api/auth/register", content=b"email=a", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 415)


def test_body_over_limit_413(api):
    big = {"email": "big@example.com", "password": "x" * 10, "name": "n" * (70 * 1024)}
    assert_problem(api.post("/api/auth/register", json=big), 413)


@pytest.mark.smoke
def test_missing_token_401_with_challenge(api):
    response = api.get("/api/users/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def _segment(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _forge(claims, secret=b"wrong-secret-wrong-secret-wrong-secret", alg="HS256"):
    head = f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(claims)}"
    sig = base64.urlsafe_b64encode(hmac.new(secret, head.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"{head}.{sig}"


def _claims(**overrides):
    now = int(time.time())
    return {
        "sub": "usr_x",
        "role": "admin",
        "iat": now,
        "exp": now + 600,
        "iss": "edge-api",
        "aud": "edge-api-clients",
        **overrides,
    }


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        _forge(_claims()),
        f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(_claims())}.",
    ],
    ids=["garbage", "bad-signature", "alg-none"],
)
def test_bad_tokens_401(api, token):
    response = api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_tampered_role_claim_401(api, user):
    header, _, signature = user.token.split(".")
    forged = f"{header}.{_segment(_claims(sub=user.id, role='admin'))}.{signature}"
    assert_problem(api.get("/api/users", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_user_on_admin_route_403(api, user):
    assert_problem(api.get("/api/users", headers=user.headers), 403)
    assert_problem(api.get("/api/admin/dead-letters", headers=user.headers), 403)


def test_authenticated_responses_are_no_store(api, user):
    assert api.get("/api/users/me", headers=user.headers).headers["cache-control"] == "no-store"


def test_spoofed_identity_headers_are_stripped(api, user, other_user):
    response = api.get(
        "/api/users/me",
        headers={**user.headers, "X-User-Id": other_user.id, "X-User-Role": "admin", "X-Internal-User": other_user.id},
    )
    assert response.status_code == 200 and response.json()["id"] == user.id
    assert api.get("/api/users", headers={**user.headers, "X-User-Role": "admin"}).status_code == 403


RATE_LIMIT = 100  # requests per 60 s window, wrangler.toml [[ratelimits]]


def test_rate_limit_429_with_retry_after(api):
    """The limiter's window is fixed: a boundary inside the burst resets the count once at
    most, so two limits' worth of requests always meets a 429, wherever the clock stands."""
    statuses = []
    for _ in range(2 * RATE_LIMIT + 30):
        response = api.get("/rate-limit-probe")  # a 404 costs no service call
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) > 0
            assert_problem(response, 429)
            break
    assert 429 in statuses, f"no 429 after {len(statuses)} requests from one client"


@pytest.mark.smoke
def test_openapi_lists_every_route(api):
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    expected = {
        ("get", "/health"),
        ("get", "/openapi.json"),
        ("get", "/docs"),
        ("get", "/admin/"),
        ("post", "/api/auth/register"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("get", "/api/users/me"),
        ("post", "/api/users/me/password"),
        ("get", "/api/users"),
        ("get", "/api/users/{id}"),
        ("patch", "/api/users/{id}"),
        ("delete", "/api/users/{id}"),
        ("post", "/api/orders"),
        ("get", "/api/orders"),
        ("get", "/api/orders/{id}"),
        ("post", "/api/orders/{id}/cancel"),
        ("get", "/api/admin/dead-letters"),
        ("post", "/api/admin/dead-letters/{id}/replay"),
        ("get", "/api/admin/maintenance-runs"),
        ("get", "/api/admin/erasures/{user_id}"),
        ("get", "/api/admin/metrics"),
        ("get", "/api/admin/alerts"),
        ("get", "/api/admin/traces"),
    }
    expected |= {("head", path) for method, path in expected if method == "get"}  # HEAD wherever GET
    listed = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert listed == expected
    schemas = doc["components"]["schemas"]
    assert {"RegisterRequest", "User", "CreateOrderRequest", "Order", "Problem"} <= schemas.keys()
