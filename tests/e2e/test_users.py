"""Users and auth routes: register, login, me, list, read (cache-aside), rename, delete."""

import uuid

import pytest

# The e2e conftest's helpers, repeated: with --import-mode=importlib a test module cannot import conftest.
PASSWORD = "correct horse battery"


class _Account:
    def __init__(self, id: str, email: str) -> None:
        self.id, self.email = id, email


def register(api, email, password=PASSWORD, name="Test User"):
    return api.post("/api/auth/register", json={"email": email, "password": password, "name": name})


def login(api, email, password=PASSWORD):
    return api.post("/api/auth/login", json={"email": email, "password": password})


def sign_up(api):
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    created = register(api, email)
    assert created.status_code == 201, created.text
    return _Account(created.json()["id"], email)


USER_FIELDS = {"id", "email", "name", "role", "created_at", "updated_at"}


def assert_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    return body


def fresh_email(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def error_fields(body) -> set:
    return {tuple(error["loc"])[-1] for error in body["errors"]}


# -- register ---------------------------------------------------------------------


def test_register_201_lowercases_email_and_role_user(api):
    local = f"Mixed.Case-{uuid.uuid4().hex[:10]}"
    response = register(api, f"{local}@Example.COM", name="Ada Lovelace")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == f"{local.lower()}@example.com"
    assert body["role"] == "user" and body["name"] == "Ada Lovelace"
    assert body["id"] and body["created_at"] and body["updated_at"]


def test_admin_email_registers_as_admin(api, admin, local):
    """ADMIN_EMAILS (local settings only) makes an admin at registration."""
    assert admin.role == "admin"
    me = api.get("/api/users/me", headers=admin.headers)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "admin@example.com" and me.json()["role"] == "admin"


def test_register_duplicate_409_case_insensitive(api):
    email = fresh_email("dup")
    assert register(api, email).status_code == 201
    assert_problem(register(api, email), 409)
    assert_problem(register(api, email.upper()), 409)


@pytest.mark.parametrize(
    "field, overrides",
    [
        ("email", {"email": "not-an-email"}),
        ("email", {"email": "two@@example.com"}),
        ("email", {"email": "nodomain@localhost"}),
        ("password", {"password": "short77"}),
        ("password", {"password": "p" * 129}),
        ("password", {"password": "Password1"}),  # one of the most common (NIST SP 800-63B)
        ("name", {"name": ""}),
        ("name", {"name": "   "}),
        ("name", {"name": "n" * 101}),
    ],
    ids=[
        "email-plain",
        "email-double-at",
        "email-no-dot",
        "password-7",
        "password-129",
        "password-common",
        "name-empty",
        "name-blank",
        "name-101",
    ],
)
def test_register_validation_422(api, field, overrides):
    payload = {"email": fresh_email("v"), "password": PASSWORD, "name": "Valid Name", **overrides}
    body = assert_problem(api.post("/api/auth/register", json=payload), 422)
    assert field in error_fields(body)
    assert all({"loc", "msg"} <= set(error) for error in body["errors"])


def test_register_boundary_lengths_accepted(api):
    response = register(api, fresh_email("edge"), password="p" * 128, name="n" * 100)
    assert response.status_code == 201, response.text
    response = register(api, fresh_email("edge"), password="p2k9v7qz", name="n")
    assert response.status_code == 201, response.text


# -- login ------------------------------------------------------------------------


def test_login_200_token_works(api):
    """Register then log in: the PBKDF2 hash made by WebCrypto in Pyodide verifies on the round trip."""
    email = fresh_email("login")
    created = register(api, email)
    assert created.status_code == 201, created.text
    response = login(api, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["refresh_expires_in"] > body["expires_in"] and len(body["refresh_token"]) >= 43
    me = api.get("/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == created.json()["id"]


def test_login_email_case_insensitive(api):
    email = fresh_email("case")
    assert register(api, email).status_code == 201
    assert login(api, email.upper()).status_code == 200


def test_login_wrong_password_and_unknown_email_same_401(api):
    email = fresh_email("creds")
    assert register(api, email).status_code == 201
    wrong = login(api, email, "not the password")
    unknown = login(api, fresh_email("nobody"))
    wrong_body, unknown_body = assert_problem(wrong, 401), assert_problem(unknown, 401)
    assert wrong_body["detail"] == unknown_body["detail"]
    assert wrong_body["title"] == unknown_body["title"] and wrong_body["type"] == unknown_body["type"]
    for response in (wrong, unknown):
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "access_token" not in response.text


# -- me ---------------------------------------------------------------------------


@pytest.mark.smoke
def test_me_200(api, user):
    response = api.get("/api/users/me", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["id"] == user.id and body["email"] == user.email and body["role"] == "user"


# -- list -------------------------------------------------------------------------


def test_list_users_admin_paginates_without_duplicates(api, admin):
    created = {sign_up(api).id for _ in range(3)}
    first = api.get("/api/users", headers=admin.headers, params={"limit": 1})
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"items", "next_cursor"}
    assert len(body["items"]) == 1 and isinstance(body["next_cursor"], str)

    seen = [body["items"][0]["id"]]
    cursor = body["next_cursor"]
    for _ in range(3):
        page = api.get("/api/users", headers=admin.headers, params={"limit": 1, "cursor": cursor})
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert len(items) == 1 and set(items[0]) == USER_FIELDS
        seen.append(items[0]["id"])
        cursor = page.json()["next_cursor"]
        assert cursor is not None  # at least admin + 3 new users + the first page's user exist
    assert len(seen) == len(set(seen))

    # Walk everything in big pages: no duplicates, the new users are there, the last page ends it.
    all_ids, cursor, pages = [], None, 0
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/users", headers=admin.headers, params=params)
        assert page.status_code == 200, page.text
        all_ids += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None or pages > 20:
            break
    assert cursor is None
    assert len(all_ids) == len(set(all_ids))
    assert created <= set(all_ids) and set(seen) <= set(all_ids)
    assert all("password" not in item for item in page.json()["items"])


def test_list_users_default_limit(api, admin):
    response = api.get("/api/users", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) <= 20


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "abc"}, {"cursor": "!!not-a-cursor!!"}])
def test_list_users_bad_query_422(api, admin, params):
    assert_problem(api.get("/api/users", headers=admin.headers, params=params), 422)


def test_list_users_as_user_403(api, user):
    assert_problem(api.get("/api/users", headers=user.headers), 403)


def test_list_users_without_token_401(api):
    response = api.get("/api/users")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


# -- read by id ---------------------------------------------------------------------


def test_get_self_cache_miss_then_hit(api, user):
    first = api.get(f"/api/users/{user.id}", headers=user.headers)
    assert first.status_code == 200, first.text
    assert first.headers["x-cache"] == "MISS"
    assert set(first.json()) == USER_FIELDS and first.json()["id"] == user.id
    second = api.get(f"/api/users/{user.id}", headers=user.headers)
    assert second.status_code == 200, second.text
    assert second.headers["x-cache"] == "HIT"
    assert second.json() == first.json()


def test_get_other_user_404(api, user, other_user):
    assert_problem(api.get(f"/api/users/{other_user.id}", headers=user.headers), 404)
    # Same answer as for an id that does not exist: no existence leak.
    missing = assert_problem(api.get("/api/users/usr_doesnotexist", headers=user.headers), 404)
    hidden = assert_problem(api.get(f"/api/users/{other_user.id}", headers=user.headers), 404)
    assert missing["detail"] == hidden["detail"]


def test_get_other_user_404_even_when_cached(api, user, other_user):
    assert api.get(f"/api/users/{other_user.id}", headers=other_user.headers).status_code == 200
    assert_problem(api.get(f"/api/users/{other_user.id}", headers=user.headers), 404)


def test_admin_gets_any_user(api, admin, user):
    response = api.get(f"/api/users/{user.id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user.id and response.json()["email"] == user.email
    assert response.headers["x-cache"] in ("HIT", "MISS")


def test_admin_get_unknown_user_404(api, admin):
    assert_problem(api.get("/api/users/usr_doesnotexist", headers=admin.headers), 404)


# -- rename -------------------------------------------------------------------------


def test_patch_name_invalidates_cache(api, user):
    assert api.get(f"/api/users/{user.id}", headers=user.headers).headers["x-cache"] == "MISS"
    assert api.get(f"/api/users/{user.id}", headers=user.headers).headers["x-cache"] == "HIT"
    patched = api.patch(f"/api/users/{user.id}", headers=user.headers, json={"name": "  Grace Hopper  "})
    assert patched.status_code == 200, patched.text
    assert set(patched.json()) == USER_FIELDS
    assert patched.json()["name"] == "Grace Hopper"
    after = api.get(f"/api/users/{user.id}", headers=user.headers)
    assert after.status_code == 200
    assert after.headers["x-cache"] == "MISS"
    assert after.json()["name"] == "Grace Hopper"
    assert after.json()["updated_at"] >= after.json()["created_at"]
    again = api.get(f"/api/users/{user.id}", headers=user.headers)
    assert again.headers["x-cache"] == "HIT" and again.json()["name"] == "Grace Hopper"
    assert api.get("/api/users/me", headers=user.headers).json()["name"] == "Grace Hopper"


def test_admin_patches_any_user(api, admin, user):
    response = api.patch(f"/api/users/{user.id}", headers=admin.headers, json={"name": "Renamed By Admin"})
    assert response.status_code == 200, response.text
    assert api.get(f"/api/users/{user.id}", headers=user.headers).json()["name"] == "Renamed By Admin"


def test_patch_other_user_404(api, user, other_user):
    assert_problem(api.patch(f"/api/users/{other_user.id}", headers=user.headers, json={"name": "Hijack"}), 404)
    assert api.get(f"/api/users/{other_user.id}", headers=other_user.headers).json()["name"] != "Hijack"


@pytest.mark.parametrize(
    "payload",
    [{"name": ""}, {"name": "   "}, {"name": "n" * 101}, {}, {"name": 5}, {"name": "ok", "role": "admin"}],
    ids=["empty", "blank", "long", "missing", "not-string", "extra-field"],
)
def test_patch_bad_body_422(api, user, payload):
    body = assert_problem(api.patch(f"/api/users/{user.id}", headers=user.headers, json=payload), 422)
    assert body["errors"]
    assert api.get("/api/users/me", headers=user.headers).json()["role"] == "user"


# -- delete -------------------------------------------------------------------------


def test_delete_self_then_gone(api, admin, user):
    response = api.delete(f"/api/users/{user.id}", headers=user.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_problem(login(api, user.email), 401)
    assert_problem(api.get(f"/api/users/{user.id}", headers=admin.headers), 404)
    assert_problem(api.get("/api/users/me", headers=user.headers), 404)  # the token outlives the account
    assert_problem(api.delete(f"/api/users/{user.id}", headers=user.headers), 404)
    listed = api.get("/api/users", headers=admin.headers, params={"limit": 100})
    ids = set()
    while True:
        ids |= {item["id"] for item in listed.json()["items"]}
        cursor = listed.json()["next_cursor"]
        if cursor is None:
            break
        listed = api.get("/api/users", headers=admin.headers, params={"limit": 100, "cursor": cursor})
    assert user.id not in ids


def test_delete_after_cached_read_is_404(api, admin, user):
    assert api.get(f"/api/users/{user.id}", headers=user.headers).status_code == 200
    assert api.get(f"/api/users/{user.id}", headers=user.headers).headers["x-cache"] == "HIT"
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204
    assert_problem(api.get(f"/api/users/{user.id}", headers=admin.headers), 404)
    assert_problem(api.get(f"/api/users/{user.id}", headers=user.headers), 404)


def test_delete_other_user_404(api, user, other_user):
    assert_problem(api.delete(f"/api/users/{other_user.id}", headers=user.headers), 404)
    assert login(api, other_user.email).status_code == 200


def test_admin_deletes_user(api, admin, user):
    assert api.delete(f"/api/users/{user.id}", headers=admin.headers).status_code == 204
    assert_problem(login(api, user.email), 401)
    assert_problem(api.get(f"/api/users/{user.id}", headers=admin.headers), 404)


def test_deleted_user_old_password_never_opens_account(api, user):
    """Deleting frees nothing silently: the old password never opens the account again."""
    assert api.delete(f"/api/users/{user.id}", headers=user.headers).status_code == 204
    assert_problem(login(api, user.email, PASSWORD), 401)
