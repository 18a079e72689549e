"""Sessions and login throttling in the users service, on real SQLite with a settable clock.

Refresh-token rotation and reuse detection (RFC 9700), logout, password change, deletion
revoking sessions, and the per-email throttle's arithmetic (lock, growth, cap, reset).
"""

import hashlib

import pytest

from shared.errors import Forbidden, NotFound, TooManyAttempts, Unauthenticated
from shared.identity import Identity
from tests.unit.users_support import PASSWORD, World, run
from users.service import RefreshTokenReused, token_hash
from users.throttle import throttle_key

EMAIL = "ada@example.com"


async def signed_up(world: World, email: str = EMAIL) -> Identity:
    return await world.register(email)


def caller(grant) -> Identity:
    return Identity(grant.user_id, grant.role, grant.session_id)


# -- login and refresh ---------------------------------------------------------------------


def test_login_opens_a_session_whose_token_is_stored_only_as_a_hash() -> None:
    async def scenario() -> None:
        world = World()
        user = await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        assert grant.user_id == user.user_id and grant.role == "user" and grant.session_id.startswith("ses_")
        assert len(grant.refresh_token) >= 43 and grant.refresh_expires_in == world.settings.refresh_ttl_seconds
        rows = await world.db.all("SELECT * FROM refresh_tokens")
        assert [row["token_hash"] for row in rows] == [hashlib.sha256(grant.refresh_token.encode()).hexdigest()]
        assert grant.refresh_token not in str(rows) and grant.refresh_token not in repr(grant)

    run(scenario())


def test_a_login_reads_the_account_and_its_throttle_in_one_statement() -> None:
    """Before the hash, one read: the account and its email's counter together (a D1 round
    trip each was two); then the session's two inserts. A locked email is refused on it."""

    async def scenario() -> None:
        world = World()
        await signed_up(world)
        with world.db.invocation(100):
            await world.service.login(EMAIL, PASSWORD)
            spent = 100 - (world.db.budget.left or 0)
        assert spent == 3
        for _ in range(world.service.throttle.policy.max_failures):
            with pytest.raises(Unauthenticated):
                await world.service.login(EMAIL, "wrong password!")
        derivations = world.hasher.derivations
        with world.db.invocation(100), pytest.raises(TooManyAttempts):
            await world.service.login(EMAIL, PASSWORD)
        assert world.hasher.derivations == derivations  # refused before any hash

    run(scenario())


def test_refresh_rotates_and_a_spent_token_revokes_the_family_newest_included() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        first = await world.service.login(EMAIL, PASSWORD)
        second = await world.service.refresh(first.refresh_token)
        third = await world.service.refresh(second.refresh_token)
        assert second.session_id == third.session_id == first.session_id
        assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
        with pytest.raises(RefreshTokenReused):
            await world.service.refresh(first.refresh_token)
        with pytest.raises(Unauthenticated):
            await world.service.refresh(third.refresh_token)

    run(scenario())


def test_two_exchanges_of_one_token_cannot_both_win() -> None:
    """The store decides: the second exchange of a token already spent changes nothing."""

    async def scenario() -> None:
        world = World()
        await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        state = await world.service.sessions.find(token_hash(grant.refresh_token))
        assert state is not None
        now = "2026-09-08T12:00:01.000Z"
        old = token_hash(grant.refresh_token)
        assert await world.service.sessions.rotate(old, "a" * 64, state.session_id, now, "2099-01-01T00:00:00.000Z")
        assert not await world.service.sessions.rotate(old, "b" * 64, state.session_id, now, "2099-01-01T00:00:00Z")
        assert await world.db.first("SELECT 1 AS x FROM refresh_tokens WHERE token_hash = ?", "b" * 64) is None

    run(scenario())


def test_expired_unknown_and_deleted_accounts_tokens_are_refused() -> None:
    async def scenario() -> None:
        world = World()
        user = await signed_up(world)
        old = await world.service.login(EMAIL, PASSWORD)
        world.clock.advance(seconds=world.settings.refresh_ttl_seconds + 1)
        with pytest.raises(Unauthenticated):
            await world.service.refresh(old.refresh_token)
        with pytest.raises(Unauthenticated):
            await world.service.refresh("never-issued")
        live = await world.service.login(EMAIL, PASSWORD)
        await world.service.delete(user, user.user_id, "req")
        with pytest.raises(Unauthenticated):
            await world.service.refresh(live.refresh_token)
        revoked = await world.db.first("SELECT revoked_at FROM sessions WHERE id = ?", live.session_id)
        assert revoked["revoked_at"] is not None

    run(scenario())


def test_a_refresh_carries_the_accounts_current_role() -> None:
    async def scenario() -> None:
        world = World()
        user = await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        await world.db.run("UPDATE users SET role = 'admin' WHERE id = ?", user.user_id)
        assert (await world.service.refresh(grant.refresh_token)).role == "admin"

    run(scenario())


# -- logout and password change ------------------------------------------------------------


def test_logout_one_given_and_all() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        a, b, c = [await world.service.login(EMAIL, PASSWORD) for _ in range(3)]
        await world.service.logout(caller(a), a.refresh_token)  # the caller's own
        with pytest.raises(Unauthenticated):
            await world.service.refresh(a.refresh_token)
        await world.service.logout(caller(c), b.refresh_token)  # another of the account's
        with pytest.raises(Unauthenticated):
            await world.service.refresh(b.refresh_token)
        c2 = await world.service.refresh(c.refresh_token)
        d = await world.service.login(EMAIL, PASSWORD)
        await world.service.logout(caller(d), None)  # all
        for grant in (c2, d):
            with pytest.raises(Unauthenticated):
                await world.service.refresh(grant.refresh_token)

    run(scenario())


def test_logout_of_someone_elses_token_ends_nothing() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        await signed_up(world, "eve@example.com")
        ada = await world.service.login(EMAIL, PASSWORD)
        eve = await world.service.login("eve@example.com", PASSWORD)
        await world.service.logout(caller(eve), ada.refresh_token)
        assert await world.service.refresh(ada.refresh_token)

    run(scenario())


def test_password_change_keeps_this_session_and_ends_the_others() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        mine, other = [await world.service.login(EMAIL, PASSWORD) for _ in range(2)]
        with pytest.raises(Forbidden):
            await world.service.change_password(caller(mine), "wrong password", "new passphrase here")
        await world.service.change_password(caller(mine), PASSWORD, "new passphrase here")
        with pytest.raises(Unauthenticated):
            await world.service.refresh(other.refresh_token)
        assert await world.service.refresh(mine.refresh_token)
        with pytest.raises(Unauthenticated):
            await world.service.authenticate(EMAIL, PASSWORD)
        assert await world.service.authenticate(EMAIL, "new passphrase here")

    run(scenario())


def test_password_change_of_a_deleted_account_is_404() -> None:
    async def scenario() -> None:
        world = World()
        user = await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        await world.service.delete(user, user.user_id, "req")
        with pytest.raises(NotFound):
            await world.service.change_password(caller(grant), PASSWORD, "new passphrase here")

    run(scenario())


# -- throttling ------------------------------------------------------------------------------


async def fail(world: World, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            await world.service.authenticate(email, "a wrong guess")


async def locked_for(world: World, email: str, password: str = PASSWORD) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        await world.service.authenticate(email, password)
    return refused.value.retry_after_seconds


@pytest.mark.parametrize("known", [True, False], ids=["known-email", "unknown-email"])
def test_five_failures_lock_the_email_and_locked_attempts_hash_nothing(known: bool) -> None:
    async def scenario() -> None:
        world = World()
        if known:
            await signed_up(world)
        await fail(world, EMAIL, 5)
        hashes = world.hasher.derivations
        assert await locked_for(world, EMAIL) == 60
        assert await locked_for(world, EMAIL.upper()) == 60  # the same account, however it is written
        assert world.hasher.derivations == hashes  # throttled attempts cost no PBKDF2
        row = await world.db.first("SELECT key FROM login_failures")
        assert row == {"key": throttle_key(EMAIL)} and EMAIL not in str(row)

    run(scenario())


def test_the_lock_grows_with_each_further_failure_and_is_capped() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        await fail(world, EMAIL, 5)
        waits = []
        for _ in range(8):
            wait = await locked_for(world, EMAIL)
            waits.append(wait)
            world.clock.advance(seconds=wait)
            await fail(world, EMAIL, 1)
        assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]

    run(scenario())


def test_a_success_resets_the_series() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        await fail(world, EMAIL, 4)
        assert await world.service.authenticate(EMAIL, PASSWORD)
        assert await world.db.first("SELECT * FROM login_failures") is None
        await fail(world, EMAIL, 4)
        assert await world.service.authenticate(EMAIL, PASSWORD)

    run(scenario())


def test_failures_further_apart_than_the_window_start_a_new_series() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        await fail(world, EMAIL, 4)
        world.clock.advance(seconds=world.settings.throttle.window_seconds + 1)
        await fail(world, EMAIL, 4)
        assert await world.service.authenticate(EMAIL, PASSWORD)

    run(scenario())


def test_one_email_locked_leaves_another_alone() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        await signed_up(world, "bob@example.com")
        await fail(world, EMAIL, 5)
        await locked_for(world, EMAIL)
        assert await world.service.authenticate("bob@example.com", PASSWORD)

    run(scenario())


def test_wrong_current_passwords_count_towards_the_throttle() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        for _ in range(5):
            with pytest.raises(Forbidden):
                await world.service.change_password(caller(grant), "a wrong guess", "new passphrase here")
        with pytest.raises(TooManyAttempts):
            await world.service.change_password(caller(grant), PASSWORD, "new passphrase here")
        await locked_for(world, EMAIL)

    run(scenario())


# -- clean-up --------------------------------------------------------------------------------


def test_maintenance_forgets_expired_tokens_empty_sessions_and_finished_series() -> None:
    async def scenario() -> None:
        world = World()
        await signed_up(world)
        grant = await world.service.login(EMAIL, PASSWORD)
        await world.service.refresh(grant.refresh_token)
        await fail(world, "someone@example.com", 2)
        world.clock.advance(seconds=world.settings.refresh_ttl_seconds + 1)
        record = await world.maintain("0 3 * * *")
        assert record.counts["refresh_tokens_forgotten"] == 2 and record.counts["login_counters_forgotten"] == 1
        for table in ("refresh_tokens", "sessions", "login_failures"):
            assert await world.db.first(f"SELECT COUNT(*) AS n FROM {table}") == {"n": 0}

    run(scenario())
