"""Failed logins are throttled per email and per client address (API.md §2), with 429 and Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.support.accounts import PASSWORD, Account, unique_email
from tests.support.problems import assert_problem
from threadline.app import create_app
from threadline.services.security import PasswordHasher
from threadline.settings import Settings

MAX_FAILURES = 3
WINDOW_SECONDS = 600


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(login_max_failures=MAX_FAILURES, login_window_seconds=WINDOW_SECONDS)


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The same app, reached from another client address than the ``client`` fixture."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def fail_logins(client: httpx.AsyncClient, emails: list[str]) -> None:
    for email in emails:
        assert (await login(client, email, "wrong password")).status_code == 401


def assert_throttled(response: httpx.Response) -> None:
    assert_problem(response, 429, "rate_limited")
    assert 0 < int(response.headers["retry-after"]) <= WINDOW_SECONDS


async def test_failures_for_one_email_lock_that_email_from_every_address(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await fail_logins(client, [alice.email] * MAX_FAILURES)

    assert_throttled(await login(other_client, alice.email))
    assert_throttled(
        await client.post("/v1/auth/token", data={"username": alice.email, "password": PASSWORD})
    )
    assert (await login(other_client, bob.email)).status_code == 200


async def test_failures_from_one_address_lock_that_address_for_every_email(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, alice: Account
) -> None:
    await fail_logins(client, [unique_email() for _ in range(MAX_FAILURES)])

    assert_throttled(await login(client, alice.email))
    assert (await login(other_client, alice.email)).status_code == 200


async def test_failures_below_the_limit_do_not_throttle(client: httpx.AsyncClient, alice: Account) -> None:
    await fail_logins(client, [alice.email] * (MAX_FAILURES - 1))

    assert (await login(client, alice.email)).status_code == 200


async def test_guesses_sent_in_parallel_are_throttled_like_guesses_in_a_row(
    client: httpx.AsyncClient, alice: Account
) -> None:
    guesses = await asyncio.gather(
        *(login(client, alice.email, f"guess {n}") for n in range(4 * MAX_FAILURES))
    )

    statuses = sorted(response.status_code for response in guesses)
    assert statuses == [401] * MAX_FAILURES + [429] * (3 * MAX_FAILURES)


async def test_successful_logins_never_count_as_failures(client: httpx.AsyncClient, alice: Account) -> None:
    for _ in range(MAX_FAILURES + 1):
        assert (await login(client, alice.email)).status_code == 200
    # Attempts in flight count until their password is checked: as many as the limit may run at once.
    together = await asyncio.gather(*(login(client, alice.email) for _ in range(MAX_FAILURES)))

    assert [response.status_code for response in together] == [200] * MAX_FAILURES
    await fail_logins(client, [alice.email] * (MAX_FAILURES - 1))
    assert (await login(client, alice.email)).status_code == 200


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted proxy", "untrusted peer"])
async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    make_settings: Callable[..., Settings], trusted: bool
) -> None:
    """Both callers come through one proxy (203.0.113.7); only a trusted one's X-Forwarded-For counts."""
    settings = make_settings(
        login_max_failures=MAX_FAILURES,
        login_window_seconds=WINDOW_SECONDS,
        forwarded_allow_ips="203.0.113.7" if trusted else "127.0.0.1",
    )
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as proxy,
    ):
        for _ in range(MAX_FAILURES):
            response = await proxy.post(
                "/v1/auth/login",
                json={"email": unique_email(), "password": "wrong password"},
                headers={"X-Forwarded-For": "192.0.2.1"},
            )
            assert response.status_code == 401
        other = await proxy.post(
            "/v1/auth/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": "192.0.2.2"},
        )
        again = await proxy.post(
            "/v1/auth/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )

    assert_throttled(again)  # the client that failed, seen as itself or as the proxy
    if trusted:
        assert other.status_code == 401, "another client behind the proxy is not locked out"
    else:
        assert_throttled(other)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_every_process_counts_the_failures_of_the_others(
    settings: Settings, client: httpx.AsyncClient, alice: Account
) -> None:
    """Two processes of one deployment (two apps on one database): failures at either count at both."""
    second = create_app(settings)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://testserver") as other,
    ):
        await fail_logins(client, [alice.email] * (MAX_FAILURES - 1))
        await fail_logins(other, [alice.email])

        assert_throttled(await login(client, alice.email))
        assert_throttled(await login(other, alice.email))


async def test_an_unknown_email_costs_a_password_check_like_a_known_one(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering sooner for an email without an account would tell which emails have one."""
    checks: list[str | None] = []
    verify = PasswordHasher.verify

    async def counted(hasher: PasswordHasher, password_hash: str | None, password: str) -> bool:
        checks.append(password_hash)
        return bool(await verify(hasher, password_hash, password))

    monkeypatch.setattr(PasswordHasher, "verify", counted)

    assert (await login(client, unique_email(), "wrong password")).status_code == 401
    assert (await login(client, alice.email, "wrong password")).status_code == 401

    assert len(checks) == 2
    assert checks[0] is None  # no account: the dummy hash is checked
    assert checks[1] is not None


@pytest.mark.parametrize(
    ("first", "second", "same_client"),
    [
        pytest.param("198.51.100.7", "::ffff:198.51.100.7", True, id="IPv4 and IPv4-mapped"),
        pytest.param("2001:DB8::A75", "2001:db8::a75", True, id="two spellings of one IPv6 address"),
        pytest.param("2001:db8::1", "2001:db8::ffff:2", True, id="one IPv6 /64"),
        pytest.param("2001:db8::1", "2001:db8:0:1::1", False, id="two IPv6 /64s"),
    ],
)
async def test_a_client_address_counts_once_however_it_is_written(
    app: FastAPI, first: str, second: str, same_client: bool
) -> None:
    async with client_at(app, first) as http:
        await fail_logins(http, [unique_email() for _ in range(MAX_FAILURES)])
    async with client_at(app, second) as http:
        response = await login(http, unique_email(), "wrong password")

    if same_client:
        assert_throttled(response)
    else:
        assert response.status_code == 401


@contextlib.asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` whose connection comes from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_fifty_parallel_wrong_passwords_for_one_account_let_through_at_most_the_limit(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    """From fifty clients behind a trusted proxy, so that only the account's count can hold them; on
    PostgreSQL through two apps (two processes of one deployment) at once."""
    settings = make_settings(
        login_max_failures=MAX_FAILURES,
        login_window_seconds=WINDOW_SECONDS,
        forwarded_allow_ips="203.0.113.7",
    )
    apps = [create_app(settings) for _ in range(1 if database_url.startswith("sqlite") else 2)]
    async with contextlib.AsyncExitStack() as stack:
        proxies = []
        for application in apps:
            await stack.enter_async_context(application.router.lifespan_context(application))
            transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
            proxies.append(
                await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t"))
            )
        email = unique_email()
        registered = await proxies[0].post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201
        guesses = await asyncio.gather(
            *(
                proxies[n % len(proxies)].post(
                    "/v1/auth/login",
                    json={"email": email, "password": f"guess {n}"},
                    headers={"X-Forwarded-For": f"192.0.2.{n + 1}"},
                )
                for n in range(50)
            )
        )
        after = await proxies[-1].post(
            "/v1/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.99"},
        )

    statuses = sorted(response.status_code for response in guesses)
    assert statuses == [401] * MAX_FAILURES + [429] * (50 - MAX_FAILURES)
    assert_throttled(after)


async def test_a_client_cannot_escape_its_count_by_claiming_another_address_in_front(
    make_settings: Callable[..., Settings],
) -> None:
    """Hops left of the first untrusted one are the client's own claims: the throttle ignores them."""
    settings = make_settings(
        login_max_failures=MAX_FAILURES,
        login_window_seconds=WINDOW_SECONDS,
        forwarded_allow_ips="203.0.113.7",
    )
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as proxy,
    ):
        statuses = [
            (
                await proxy.post(
                    "/v1/auth/login",
                    json={"email": unique_email(), "password": "wrong password"},
                    headers={"X-Forwarded-For": f"10.0.0.{n}, 192.0.2.1"},
                )
            ).status_code
            for n in range(MAX_FAILURES + 1)
        ]

    assert statuses == [401] * MAX_FAILURES + [429]
