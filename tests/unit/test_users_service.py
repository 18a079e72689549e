"""The users service's rules, on real SQLite (the users migrations) with in-memory KV and queue."""

import asyncio
import json
import re
import uuid

import pytest

from shared.cursor import CURSOR_PATTERN, decode_cursor, encode_cursor
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, Unprocessable
from tests.unit.users_support import PASSWORD, World, as_admin, as_user, run
from users.service import BAD_CREDENTIALS, UsersSettings, cache_key

# -- registration -----------------------------------------------------------------


def test_register_normalises_email_and_hashes_the_password() -> None:
    async def scenario() -> None:
        world = World()
        user = await world.service.register("  Ada@Example.COM ", PASSWORD, " Ada ")
        assert (user.email, user.name, user.role) == ("ada@example.com", "Ada", "user")
        assert user.id.startswith("usr_") and user.created_at == user.updated_at and user.created_at.endswith("Z")
        stored = await world.repo.get(user.id)
        assert stored is not None and stored.password.key != PASSWORD.encode()
        assert await world.hasher.verify(PASSWORD, stored.password)
        assert "password" not in user.public() and set(user.public()) == {
            "id",
            "email",
            "name",
            "role",
            "created_at",
            "updated_at",
        }

    run(scenario())


def test_admin_emails_get_the_admin_role_case_insensitively() -> None:
    async def scenario() -> None:
        world = World()
        admin = await world.service.register("Admin@EXAMPLE.com", PASSWORD, "Boss")
        other = await world.service.register("user@example.com", PASSWORD, "Pleb")
        assert (admin.role, other.role) == ("admin", "user")

    run(scenario())


def test_duplicate_email_is_a_conflict_whatever_its_case() -> None:
    async def scenario() -> None:
        world = World()
        await world.register("dup@example.com")
        with pytest.raises(Conflict):
            await world.service.register("DUP@example.com ", PASSWORD, "Again")
        rows = await world.db.all("SELECT id FROM users WHERE email = 'dup@example.com'")
        assert len(rows) == 1

    run(scenario())


def test_racing_registrations_cannot_both_win() -> None:
    """No pre-check to race past: the unique index decides."""

    async def scenario() -> None:
        world = World()
        results = await asyncio.gather(
            *(world.service.register("race@example.com", PASSWORD, f"R{i}") for i in range(3)),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert sum(isinstance(r, Conflict) for r in results) == 2

    run(scenario())


def test_repository_insert_relies_on_the_unique_index() -> None:
    async def scenario() -> None:
        world = World()
        user = await world.service.register("idx@example.com", PASSWORD, "One")
        clone = type(user)(**{**user.__dict__, "id": "usr_clone"})
        assert await world.repo.add(clone) is False

    run(scenario())


def test_a_deleted_account_frees_its_email() -> None:
    async def scenario() -> None:
        world = World()
        old = await world.register("again@example.com")
        await world.service.delete(old, old.user_id, "req-1")
        new = await world.service.register("again@example.com", PASSWORD, "New")
        assert new.id != old.user_id
        assert (await world.service.authenticate("again@example.com", PASSWORD)).id == new.id

    run(scenario())


# -- login ----------------------------------------------------------------------


def test_login_with_the_right_password() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("login@example.com")
        user = await world.service.authenticate(" LOGIN@example.com", PASSWORD)
        assert user.id == me.user_id

    run(scenario())


@pytest.mark.parametrize("email, password", [("login@example.com", "wrong password"), ("nobody@example.com", PASSWORD)])
def test_wrong_password_and_unknown_email_fail_alike_for_one_hash(email: str, password: str) -> None:
    async def scenario() -> None:
        world = World()
        await world.register("login@example.com")
        before = world.hasher.derivations
        with pytest.raises(Unauthenticated) as refused:
            await world.service.authenticate(email, password)
        assert refused.value.detail == BAD_CREDENTIALS
        assert world.hasher.derivations - before == 1

    run(scenario())


def test_deleted_user_cannot_log_in() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("gone@example.com")
        await world.service.delete(me, me.user_id, "req")
        before = world.hasher.derivations
        with pytest.raises(Unauthenticated) as refused:
            await world.service.authenticate("gone@example.com", PASSWORD)
        assert refused.value.detail == BAD_CREDENTIALS and world.hasher.derivations - before == 1

    run(scenario())


# -- me and reads ---------------------------------------------------------------------


def test_me_is_the_caller_and_404_once_deleted() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("me@example.com", "Me")
        assert (await world.service.me(me)).name == "Me"
        await world.service.delete(me, me.user_id, "req")
        with pytest.raises(NotFound):
            await world.service.me(me)

    run(scenario())


def test_get_user_is_cache_aside_miss_then_hit() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("cache@example.com", "Cached")
        first = await world.service.get_user(me, me.user_id)
        second = await world.service.get_user(me, me.user_id)
        assert (first.cache_hit, second.cache_hit) == (False, True)
        assert first.user == second.user and first.user["name"] == "Cached"
        assert json.loads(world.kv.values[cache_key(me.user_id)]) == first.user
        assert world.kv.options[cache_key(me.user_id)]["expirationTtl"] == 300

    run(scenario())


def test_cache_ttl_is_never_below_kv_minimum() -> None:
    async def scenario() -> None:
        world = World(settings=UsersSettings(cache_ttl_seconds=5))
        me = await world.register("ttl@example.com")
        await world.service.get_user(me, me.user_id)
        assert world.kv.options[cache_key(me.user_id)]["expirationTtl"] == 60

    run(scenario())


def test_a_cached_copy_of_another_shape_is_a_miss() -> None:
    """After a deploy that changes the cached shape, old entries are rebuilt, not served."""

    async def scenario() -> None:
        world = World()
        me = await world.register("shape@example.com")
        world.kv.values[cache_key(me.user_id)] = json.dumps({"id": me.user_id, "legacy": True})
        found = await world.service.get_user(me, me.user_id)
        assert not found.cache_hit and found.user["email"] == "shape@example.com"

    run(scenario())


def test_others_get_404_and_the_cache_is_not_touched() -> None:
    async def scenario() -> None:
        world = World()
        owner = await world.register("owner@example.com")
        stranger = await world.register("stranger@example.com")
        await world.service.get_user(owner, owner.user_id)  # cached now
        for user_id in (owner.user_id, "usr_does_not_exist"):
            with pytest.raises(NotFound) as refused:
                await world.service.get_user(stranger, user_id)
            assert refused.value.detail == "No such user"  # same words: no existence leak
        world.kv.fail_on = {"get", "put"}
        with pytest.raises(NotFound):
            await world.service.get_user(stranger, owner.user_id)

    run(scenario())


def test_admin_reads_anyone_and_missing_users_are_404() -> None:
    async def scenario() -> None:
        world = World()
        someone = await world.register("someone@example.com")
        admin = await world.admin()
        assert (await world.service.get_user(admin, someone.user_id)).user["id"] == someone.user_id
        with pytest.raises(NotFound):
            await world.service.get_user(admin, "usr_missing")
        assert cache_key("usr_missing") not in world.kv.values

    run(scenario())


# -- listing --------------------------------------------------------------------


def test_listing_is_for_admins_only() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("plain@example.com")
        with pytest.raises(Forbidden):
            await world.service.list_users(me, 20, None)

    run(scenario())


def test_pagination_walks_every_live_user_once_in_creation_order() -> None:
    async def scenario() -> None:
        world = World()
        admin = await world.admin()
        created = [admin.user_id] + [(await world.register(f"u{i}@example.com")).user_id for i in range(7)]
        gone = await world.register("deleted@example.com")
        await world.service.delete(admin, gone.user_id, "req")
        seen: list[str] = []
        cursor = None
        sizes = []
        while True:
            page, cursor = await world.service.list_users(admin, 3, cursor)
            sizes.append(len(page))
            seen.extend(user.id for user in page)
            if cursor is None:
                break
        assert sizes == [3, 3, 2]
        assert seen == created  # (created_at, id) order, deleted user absent, no repeats

    run(scenario())


def test_exactly_full_last_page_has_no_next_cursor() -> None:
    async def scenario() -> None:
        world = World()
        admin = await world.admin()
        await world.register("b@example.com")
        page, cursor = await world.service.list_users(admin, 2, None)
        assert len(page) == 2 and cursor is None

    run(scenario())


def test_pagination_breaks_created_at_ties_by_id() -> None:
    async def scenario() -> None:
        world = World()
        admin = await world.admin()
        template = await world.repo.get(admin.user_id)
        assert template is not None
        tied = sorted(f"usr_{uuid.uuid4().hex[:24]}" for _ in range(5))
        for n, user_id in enumerate(tied):
            clone = type(template)(
                **{
                    **template.__dict__,
                    "id": user_id,
                    "email": f"tie{n}@example.com",
                    "created_at": "2030-01-01T00:00:00.000Z",
                }
            )
            assert await world.repo.add(clone)
        seen, cursor = [], None
        while True:
            page, cursor = await world.service.list_users(admin, 2, cursor)
            seen.extend(user.id for user in page)
            if cursor is None:
                break
        assert seen == [admin.user_id, *tied]

    run(scenario())


def test_cursor_has_the_documented_pattern_and_anything_else_is_unprocessable() -> None:
    async def scenario() -> None:
        world = World()
        admin = await world.admin()
        await world.register("x@example.com")
        _, cursor = await world.service.list_users(admin, 1, None)
        assert cursor is not None and re.fullmatch(CURSOR_PATTERN, cursor)
        assert decode_cursor(cursor)[1] == admin.user_id
        for bad in ("not-a-cursor", cursor[:-3], cursor.upper(), encode_cursor("a", "b")):
            with pytest.raises(Unprocessable) as refused:
                await world.service.list_users(admin, 1, bad)
            assert refused.value.detail == "The cursor is not valid"  # the orders' words (shared.cursor)

    run(scenario())


# -- rename -------------------------------------------------------------------------


def test_rename_self_invalidates_the_cached_copy_at_once() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("rename@example.com", "Old")
        before = await world.service.get_user(me, me.user_id)
        renamed = await world.service.rename(me, me.user_id, "  New  ")
        assert renamed.name == "New" and renamed.updated_at > before.user["updated_at"]
        assert cache_key(me.user_id) not in world.kv.values
        after = await world.service.get_user(me, me.user_id)
        assert not after.cache_hit and after.user["name"] == "New"

    run(scenario())


def test_rename_by_admin_yes_by_stranger_404() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("target@example.com", "Target")
        stranger = await world.register("stranger@example.com")
        with pytest.raises(NotFound):
            await world.service.rename(stranger, me.user_id, "Hacked")
        assert (await world.service.me(me)).name == "Target"
        admin = await world.admin()
        assert (await world.service.rename(admin, me.user_id, "By admin")).name == "By admin"

    run(scenario())


def test_rename_of_a_deleted_user_is_404() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("r@example.com")
        await world.service.delete(as_admin(), me.user_id, "req")
        with pytest.raises(NotFound):
            await world.service.rename(as_admin(), me.user_id, "Zombie")

    run(scenario())


# -- delete ---------------------------------------------------------------------------


def test_delete_soft_deletes_invalidates_and_starts_the_erasure() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("bye@example.com")
        await world.service.get_user(me, me.user_id)
        await world.service.delete(me, me.user_id, "req-42")
        row = await world.db.first("SELECT deleted_at FROM users WHERE id = ?", me.user_id)
        assert row is not None and row["deleted_at"]  # soft: the row is still there
        assert cache_key(me.user_id) not in world.kv.values
        assert world.workflows.created == {
            f"erase-{me.user_id}": {
                "user_id": me.user_id,
                "deleted_at": row["deleted_at"],
                "purge_after_seconds": 3600,
                "request_id": "req-42",
            }
        }
        erasure = await world.journal.get(me.user_id)
        assert erasure is not None and erasure.created_at == row["deleted_at"] and erasure.finished_at is None
        with pytest.raises(NotFound):
            await world.service.get_user(as_admin(), me.user_id)

    run(scenario())


def test_second_delete_is_404_and_starts_nothing() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("twice@example.com")
        await world.service.delete(me, me.user_id, "r1")
        with pytest.raises(NotFound):
            await world.service.delete(me, me.user_id, "r2")
        assert list(world.workflows.created) == [f"erase-{me.user_id}"]

    run(scenario())


def test_strangers_cannot_delete_admins_can() -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("victim@example.com")
        with pytest.raises(NotFound):
            await world.service.delete(as_user("usr_other"), me.user_id, "r")
        assert await world.repo.get(me.user_id) is not None and world.workflows.created == {}
        await world.service.delete(as_admin(), me.user_id, "r")
        assert await world.repo.get(me.user_id) is None

    run(scenario())


@pytest.mark.parametrize("failing", ["workflows", "kv"])
def test_an_erasure_that_cannot_start_undoes_the_delete_so_a_retry_works(failing: str) -> None:
    async def scenario() -> None:
        world = World()
        me = await world.register("retry@example.com")
        if failing == "workflows":
            world.workflows.fail = True
        else:
            world.kv.fail_on = {"delete"}
        with pytest.raises(RuntimeError):
            await world.service.delete(me, me.user_id, "r1")
        assert await world.repo.get(me.user_id) is not None and await world.journal.get(me.user_id) is None
        world.workflows.fail, world.kv.fail_on = False, set()
        await world.service.delete(me, me.user_id, "r2")
        assert [p["request_id"] for p in world.workflows.created.values()] == ["r2"]

    run(scenario())
