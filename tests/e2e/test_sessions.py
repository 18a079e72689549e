"""Sessions that end, keys that rotate, guessing that is throttled (issue 20), over HTTP.

Refresh-token rotation and reuse detection, logout (one session, all), password change,
account deletion (the first hole: a deleted account's old token writes nothing), signing
keys named by `kid` with a previous key still verifying, per-account login throttling and
the common-password rule. Tokens signed with the suite's own keys need the local runtime's
settings (`TEST_VARS`); against `--base-url` set E2E_JWT_SECRET (and E2E_JWT_PREVIOUS_SECRET)
or those cases skip.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
import uuid

import httpx
import pytest

from gateway import jwt
from tests.conftest import TEST_VARS
from tests.e2e.conftest import PASSWORD, Account, client_address, login, register

ISSUER, AUDIENCE = "edge-api", "edge-api-clients"
ORDER = {"items": [{"sku": "SESSION-1", "quantity": 1, "unit_price_cents": 250}], "currency": "EUR"}
THROTTLE_LOCKOUT_S = int(TEST_VARS["LOGIN_LOCKOUT_SECONDS"])
THROTTLE_WINDOW_S = int(TEST_VARS["LOGIN_FAILURE_WINDOW_SECONDS"])
LEEWAY_S = 30  # the gateway accepts an `exp` this far in the past (clock skew)


def fresh_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_session(api: httpx.Client, email: str, password: str = PASSWORD) -> dict:
    answer = login(api, email, password)
    assert answer.status_code == 200, answer.text
    return answer.json()


def refresh(api: httpx.Client, token: str) -> httpx.Response:
    return api.post("/api/auth/refresh", json={"refresh_token": token})


def account(api: httpx.Client) -> tuple[Account, dict]:
    """A fresh account and its first session (the login answer)."""
    email = fresh_email("session")
    created = register(api, email)
    assert created.status_code == 201, created.text
    session = new_session(api, email)
    return Account(created.json()["id"], email, "user", session["access_token"]), session


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


def from_elsewhere(api: httpx.Client) -> httpx.Client:
    """Another client address (the per-address rate limit is not what these tests are about)."""
    return httpx.Client(base_url=str(api.base_url), timeout=30, headers={"CF-Connecting-IP": client_address()})


# -- refresh: rotation and reuse ----------------------------------------------------------


def test_refresh_rotates_the_pair(api):
    user, first = account(api)
    answer = refresh(api, first["refresh_token"])
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    assert second["refresh_token"] != first["refresh_token"]  # (the access token may be the same within a second)
    assert answer.headers["cache-control"] == "no-store"
    me = api.get("/api/users/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user.id
    third = refresh(api, second["refresh_token"])
    assert third.status_code == 200, third.text


def test_a_spent_refresh_token_revokes_its_family_even_the_newest(api):
    _, first = account(api)
    second = refresh(api, first["refresh_token"]).json()
    third = refresh(api, second["refresh_token"]).json()
    assert_401(refresh(api, first["refresh_token"]))  # replayed: someone holds a copy
    assert_401(refresh(api, third["refresh_token"]))  # the newest token of that login died with it
    assert_401(refresh(api, second["refresh_token"]))


def test_reuse_revokes_only_that_login(api):
    user, first = account(api)
    other = new_session(api, user.email)
    refresh(api, first["refresh_token"])
    assert_401(refresh(api, first["refresh_token"]))
    assert refresh(api, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["x", "A" * 43, "not a token at all", "A" * 256])
def test_unknown_refresh_tokens_are_401(api, token):
    assert_401(refresh(api, token))


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": "A" * 257}, {"refresh_token": 7}])
def test_bad_refresh_bodies_are_422(api, body):
    assert api.post("/api/auth/refresh", json=body).status_code == 422


def test_racing_refreshes_with_one_token_leave_at_most_one_winner(api):
    """Two holders of one token spend it at once: at most one gets a successor, and the
    loser's refusal revokes the session, so even the winner's successor dies."""
    _, first = account(api)

    def spend(_: int) -> httpx.Response:
        with from_elsewhere(api) as elsewhere:
            return refresh(elsewhere, first["refresh_token"])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(spend, range(4)))
    winners = [a.json()["refresh_token"] for a in answers if a.status_code == 200]
    assert len(winners) <= 1 and all(a.status_code in (200, 401) for a in answers)
    for token in winners:
        assert_401(refresh(api, token))


# -- logout -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"all": False}, {"all": 1}, {"refresh_token": "x", "all": True}, {"refresh_token": ""}],
    ids=["empty", "all-false", "all-one", "both", "empty-token"],
)
def test_logout_takes_one_refresh_token_or_all(api, user, body):
    assert api.post("/api/auth/logout", json=body, headers=user.headers).status_code == 422


def test_logout_of_a_given_refresh_token(api):
    user, first = account(api)
    other = new_session(api, user.email)
    body = {"refresh_token": other["refresh_token"]}
    assert api.post("/api/auth/logout", json=body, headers=bearer(first["access_token"])).status_code == 204
    assert_401(refresh(api, other["refresh_token"]))
    assert refresh(api, first["refresh_token"]).status_code == 200


def test_logout_cannot_end_someone_elses_session(api):
    _, mine = account(api)
    _, theirs = account(api)
    body = {"refresh_token": theirs["refresh_token"]}
    assert api.post("/api/auth/logout", json=body, headers=bearer(mine["access_token"])).status_code == 204
    assert refresh(api, theirs["refresh_token"]).status_code == 200


def test_logout_all_ends_every_session(api):
    user, first = account(api)
    sessions = [new_session(api, user.email) for _ in range(2)]
    assert api.post("/api/auth/logout", json={"all": True}, headers=bearer(first["access_token"])).status_code == 204
    for session in (first, *sessions):
        assert_401(refresh(api, session["refresh_token"]))
    assert new_session(api, user.email)["refresh_token"]  # logging in again opens a new one


def test_logout_needs_a_token(api):
    assert_401(api.post("/api/auth/logout", json={"all": True}))


@pytest.fixture
def previous_secret(live) -> bytes:
    value = TEST_VARS["JWT_PREVIOUS_SECRETS"] if live.local else os.environ.get("E2E_JWT_PREVIOUS_SECRET", "")
    if not value:
        pytest.skip("set E2E_JWT_PREVIOUS_SECRET to one of the deployment's JWT_PREVIOUS_SECRETS")
    return value.split(",")[0].encode()


def token_for(user_id: str, key: bytes, lifetime: int = 600, **extra: object) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "role": "user", "iat": now, "nbf": now, "exp": now + lifetime}
    return jwt.encode(claims | {"iss": ISSUER, "aud": AUDIENCE} | extra, jwt.TokenPolicy((key,), ISSUER, AUDIENCE))


def test_an_access_token_outlives_a_logout_only_until_it_expires(api, secret):
    """The window the short TTL bounds: an access token minted before the logout (here with
    3 seconds left, leeway included) keeps working until it expires, then gets 401; the
    refresh token is dead at once."""
    user, session = account(api)
    short = token_for(user.id, secret, lifetime=3 - LEEWAY_S)
    assert api.post("/api/auth/logout", json={"all": True}, headers=bearer(short)).status_code == 204
    assert_401(refresh(api, session["refresh_token"]))
    assert api.get("/api/users/me", headers=bearer(short)).status_code == 200
    time.sleep(4)
    assert_401(api.get("/api/users/me", headers=bearer(short)))


# -- password change ---------------------------------------------------------------------


def test_password_change_ends_the_other_sessions_and_keeps_this_one(api):
    user, current = account(api)
    other = new_session(api, user.email)
    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    answer = api.post("/api/users/me/password", json=body, headers=bearer(current["access_token"]))
    assert answer.status_code == 204, answer.text
    assert_401(refresh(api, other["refresh_token"]))
    assert api.get("/api/users/me", headers=bearer(current["access_token"])).status_code == 200
    assert refresh(api, current["refresh_token"]).status_code == 200
    assert_401(login(api, user.email, PASSWORD))
    assert login(api, user.email, "a brand new passphrase").status_code == 200


def test_password_change_with_a_wrong_current_password_is_403_and_changes_nothing(api):
    user, current = account(api)
    body = {"current_password": "not my password", "new_password": "a brand new passphrase"}
    answer = api.post("/api/users/me/password", json=body, headers=bearer(current["access_token"]))
    assert answer.status_code == 403, answer.text
    assert refresh(api, current["refresh_token"]).status_code == 200
    assert login(api, user.email).status_code == 200


@pytest.mark.parametrize("new", ["short", "x" * 129, "password123", "Iloveyou1"])
def test_new_passwords_follow_the_registration_rules(api, user, new):
    body = {"current_password": PASSWORD, "new_password": new}
    answer = api.post("/api/users/me/password", json=body, headers=user.headers)
    assert answer.status_code == 422, answer.text
    assert ["body", "new_password"] in [error["loc"] for error in answer.json()["errors"]]


def test_common_passwords_are_refused_at_registration_without_echoing_them(api):
    answer = register(api, fresh_email("common"), "qwertyuiop")
    assert answer.status_code == 422 and "qwertyuiop" not in answer.text
    assert register(api, fresh_email("rare"), "plum tart at dusk").status_code == 201


# -- the first hole: a deleted account's old token -----------------------------------------


def test_after_delete_the_old_token_writes_nothing_and_the_refresh_token_is_dead(api, admin):
    user, session = account(api)
    order = api.post("/api/orders", json=ORDER, headers=user.headers)
    assert order.status_code == 201, order.text
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204
    # No wait, no event to arrive: refused from the moment the 204 was answered.
    assert_401(api.post("/api/orders", json=ORDER, headers=user.headers))
    assert_401(api.post("/api/orders", json=ORDER, headers={**user.headers, "Idempotency-Key": "after-delete"}))
    assert_401(api.post(f"/api/orders/{order.json()['id']}/cancel", headers=user.headers))
    assert api.patch(f"/api/users/{user.id}", json={"name": "Ghost"}, headers=user.headers).status_code == 404
    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    assert api.post("/api/users/me/password", json=body, headers=user.headers).status_code == 404
    assert_401(refresh(api, session["refresh_token"]))
    listed = api.get("/api/orders", headers=admin.headers, params={"user_id": user.id, "limit": 100}).json()
    assert [o["id"] for o in listed["items"]] == [order.json()["id"]]


def test_an_admin_deleting_an_account_shuts_it_out_too(api, admin):
    user, session = account(api)
    assert api.delete(f"/api/users/{user.id}", headers=admin.headers).status_code == 204
    assert_401(api.post("/api/orders", json=ORDER, headers=user.headers))
    assert_401(refresh(api, session["refresh_token"]))
    assert api.post("/api/orders", json=ORDER, headers=admin.headers).status_code == 201  # admins unaffected


# -- key rotation ---------------------------------------------------------------------------


def test_tokens_carry_a_kid_that_is_not_the_key(api, secret):
    _, session = account(api)
    header = jwt._json_segment(session["access_token"].split(".")[0])
    assert header == {"alg": "HS256", "typ": "JWT", "kid": jwt.key_id(secret)}
    assert secret.decode() not in session["access_token"]


def test_a_token_signed_with_a_previous_key_still_verifies(api, previous_secret):
    user, _ = account(api)
    assert api.get("/api/users/me", headers=bearer(token_for(user.id, previous_secret))).status_code == 200


def test_a_token_signed_with_a_removed_key_is_401(api):
    """A key no longer listed (JWT_PREVIOUS_SECRETS emptied after a rotation) opens nothing."""
    user, _ = account(api)
    assert_401(api.get("/api/users/me", headers=bearer(token_for(user.id, b"a-retired-key-0123456789abcdefghij"))))


def test_a_forged_kid_is_401(api, secret):
    user, _ = account(api)
    good = token_for(user.id, secret)
    header = jwt._b64encode(b'{"alg":"HS256","typ":"JWT","kid":"someone-elses-key"}')
    forged = ".".join([header, *good.split(".")[1:]])
    assert_401(api.get("/api/users/me", headers=bearer(forged)))
    no_kid = ".".join([jwt._b64encode(b'{"alg":"HS256","typ":"JWT"}'), *good.split(".")[1:]])
    assert_401(api.get("/api/users/me", headers=bearer(no_kid)))


@pytest.mark.parametrize("alg", ["none", "RS256", "HS512"])
def test_other_algorithms_with_a_valid_kid_are_401(api, secret, alg):
    user, _ = account(api)
    good = token_for(user.id, secret)
    header = jwt._b64encode(f'{{"alg":"{alg}","typ":"JWT","kid":"{jwt.key_id(secret)}"}}'.encode())
    _, payload, signature = good.split(".")
    assert_401(api.get("/api/users/me", headers=bearer(f"{header}.{payload}.{'' if alg == 'none' else signature}")))


# -- per-account login throttling ----------------------------------------------------------
# Timed with the suite's own seconds-long settings (TEST_VARS), so local only: a deployment's
# minutes-long locks would make these tests wait an hour.


def attempt(api: httpx.Client, email: str, password: str) -> httpx.Response:
    with from_elsewhere(api) as elsewhere:  # every attempt from a new address
        return login(elsewhere, email, password)


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return int(response.headers["retry-after"])


def fail_until_locked(api: httpx.Client, email: str) -> httpx.Response:
    """Five failures from five addresses, then the sixth attempt, with the right password."""
    for _ in range(5):
        assert attempt(api, email, "a wrong guess").status_code == 401
    return attempt(api, email, PASSWORD)


def test_five_failures_from_five_addresses_lock_that_email_only(local, api):
    victim, bystander = fresh_email("victim"), fresh_email("bystander")
    for email in (victim, bystander):
        assert register(api, email).status_code == 201
    locked = fail_until_locked(api, victim)
    first_wait = retry_after(locked)
    assert 1 <= first_wait <= THROTTLE_LOCKOUT_S
    assert "access_token" not in locked.text
    assert attempt(api, bystander, PASSWORD).status_code == 200  # another email is untouched
    time.sleep(first_wait + 0.5)
    assert attempt(api, victim, "another wrong guess").status_code == 401  # the series goes on...
    second_wait = retry_after(attempt(api, victim, PASSWORD))
    assert second_wait > THROTTLE_LOCKOUT_S  # ...and the backoff has grown
    time.sleep(second_wait + 0.5)
    assert attempt(api, victim, PASSWORD).status_code == 200  # a success resets it
    for _ in range(4):
        assert attempt(api, victim, "a wrong guess").status_code == 401
    assert attempt(api, victim, PASSWORD).status_code == 200  # four failures since the reset: no lock


def test_unknown_emails_are_throttled_alike(local, api):
    ghost = fresh_email("ghost")
    answer = fail_until_locked(api, ghost)
    assert 1 <= retry_after(answer) <= THROTTLE_LOCKOUT_S
    real = fresh_email("real")
    assert register(api, real).status_code == 201
    real_answer = fail_until_locked(api, real)
    assert real_answer.json()["detail"] == answer.json()["detail"]
    assert set(real_answer.headers) >= {"retry-after"} and set(answer.headers) >= {"retry-after"}


def test_the_failure_count_resets_after_the_window(local, api):
    email = fresh_email("window")
    assert register(api, email).status_code == 201
    for _ in range(4):
        assert attempt(api, email, "a wrong guess").status_code == 401
    time.sleep(THROTTLE_WINDOW_S + 1)
    for _ in range(4):
        assert attempt(api, email, "a wrong guess").status_code == 401
    assert attempt(api, email, PASSWORD).status_code == 200  # 4 + 4 failures, but never 5 in one window
