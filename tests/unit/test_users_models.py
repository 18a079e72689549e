"""The users API models: what they accept, normalise and refuse."""

import pytest
from pydantic import ValidationError

from contracts.maintenance import MaintenanceRunPage
from contracts.users import (
    ChangePasswordRequest,
    ListUsersQuery,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UpdateUserRequest,
    User,
    UserPage,
)
from shared.cursor import encode_cursor

GOOD = {"email": "ada@example.com", "password": "plum tart 7", "name": "Ada"}


@pytest.mark.parametrize(
    "raw, stored",
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, stored: str) -> None:
    assert RegisterRequest.model_validate({**GOOD, "email": raw}).email == stored


@pytest.mark.parametrize(
    "email",
    ["", "plain", "a@b", "a@@b.com", "a b@c.com", "a@-b.com", "a@b-.com", "@b.com", "a@.com", "x" * 250 + "@b.com"],
)
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        RegisterRequest.model_validate({**GOOD, "email": email})


@pytest.mark.parametrize(
    "password, ok", [("abcdefg", False), ("vqzk3wpa", True), ("x" * 128, True), ("x" * 129, False)]
)
def test_password_length(password: str, ok: bool) -> None:
    if ok:
        assert RegisterRequest.model_validate({**GOOD, "password": password}).password == password
    else:
        with pytest.raises(ValidationError):
            RegisterRequest.model_validate({**GOOD, "password": password})


def test_passwords_are_kept_verbatim() -> None:
    assert RegisterRequest.model_validate({**GOOD, "password": "  spaced  "}).password == "  spaced  "


@pytest.mark.parametrize(
    "name, result", [(" Ada ", "Ada"), ("x" * 100, "x" * 100), ("   ", None), ("", None), ("x" * 101, None)]
)
def test_names_are_trimmed_then_1_to_100(name: str, result: str | None) -> None:
    for model in (RegisterRequest, UpdateUserRequest):
        data = {**GOOD, "name": name} if model is RegisterRequest else {"name": name}
        if result is None:
            with pytest.raises(ValidationError):
                model.model_validate(data)
        else:
            assert model.model_validate(data).name == result


@pytest.mark.parametrize(
    "model, data",
    [
        (RegisterRequest, {**GOOD, "role": "admin"}),
        (LoginRequest, {"email": "a@b.co", "password": "x", "remember": True}),
        (UpdateUserRequest, {"name": "N", "email": "x@y.z"}),
    ],
)
def test_request_bodies_forbid_extra_fields(model: type, data: dict) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_login_accepts_any_email_text_but_bounds_the_password() -> None:
    assert LoginRequest.model_validate({"email": " Not-An-Email ", "password": "x"}).email == "not-an-email"
    with pytest.raises(ValidationError):
        LoginRequest.model_validate({"email": "a@b.co", "password": "x" * 129})


def test_list_query_defaults_bounds_and_cursor() -> None:
    assert ListUsersQuery.model_validate({}) == ListUsersQuery(limit=20, cursor=None)
    assert ListUsersQuery.model_validate({"limit": "100", "utm": "x"}).limit == 100
    cursor = encode_cursor("2026-01-01T00:00:00.000Z", "usr_" + "a" * 24)
    assert ListUsersQuery.model_validate({"cursor": cursor}).cursor == cursor
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"cursor": "%%%"}, {"cursor": "e30"}):
        with pytest.raises(ValidationError):
            ListUsersQuery.model_validate(bad)


def test_response_models() -> None:
    user = {"id": "usr_1", "email": "a@b.co", "name": "A", "role": "user", "created_at": "t", "updated_at": "t"}
    assert UserPage.model_validate({"items": [user], "next_cursor": None}).items[0] == User(**user)
    with pytest.raises(ValidationError):
        User.model_validate({**user, "role": "root"})
    pair = TokenResponse(access_token="t", expires_in=900, refresh_token="r", refresh_expires_in=60)
    assert pair.model_dump() == {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": "r",
        "refresh_expires_in": 60,
    }
    run = {
        "id": "run_1",
        "worker": "users",
        "job": "j",
        "cron": "* * * * *",
        "started_at": "a",
        "finished_at": "b",
        "counts": {"users_purged": 2},
        "errors": [],
    }
    assert MaintenanceRunPage.model_validate({"items": [run]}).items[0].counts == {"users_purged": 2}


def test_openapi_schemas_generate() -> None:
    schema = RegisterRequest.model_json_schema()
    assert schema["additionalProperties"] is False and schema["properties"]["email"]["format"] == "email"
    assert UserPage.model_json_schema(mode="serialization")["properties"]["next_cursor"]


@pytest.mark.parametrize("password", ["password", "12345678", "PASSWORD1", "qwertyuiop", "iloveyou"])
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    with pytest.raises(ValidationError, match="too common"):
        RegisterRequest.model_validate({**GOOD, "password": password})
    with pytest.raises(ValidationError, match="too common"):
        ChangePasswordRequest.model_validate({"current_password": "x", "new_password": password})


@pytest.mark.parametrize("password", ["correct horse battery", "vkqmzxrt", "ünïcødé pass", "        "])
def test_no_composition_rules(password: str) -> None:
    """NIST SP 800-63B: no demand for digits, symbols or mixed case; spaces and Unicode are fine."""
    assert RegisterRequest.model_validate({**GOOD, "password": password}).password == password


def test_the_common_list_is_shipped_with_its_source() -> None:
    from contracts import common_passwords

    entries = [line for line in common_passwords.PASSWORDS.split("\n") if line]
    assert len(entries) == len(set(entries)) > 8000
    assert all(8 <= len(entry) <= 128 and entry == entry.lower() for entry in entries)
    assert "roycewilliams" in (common_passwords.__doc__ or "") and "BSD" in (common_passwords.__doc__ or "")


def test_logout_and_refresh_bodies() -> None:
    assert LogoutRequest.model_validate({"all": True}).root.all is True
    assert LogoutRequest.model_validate({"refresh_token": "t"}).root.refresh_token == "t"
    bad_bodies = [
        {},
        {"all": False},
        {"all": 1},
        {"all": "yes please"},
        {"refresh_token": ""},
        {"refresh_token": "x" * 257},
        {"refresh_token": "t", "all": True},
        {"everything": True},
    ]
    for bad in bad_bodies:
        with pytest.raises(ValidationError):
            LogoutRequest.model_validate(bad)
    with pytest.raises(ValidationError):
        RefreshRequest.model_validate({})
