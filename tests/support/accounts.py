"""Signed-up users driving the API through an ``httpx`` client, for tests that need several callers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


@dataclass
class Account:
    """A registered, logged-in user; its request methods send the access token."""

    client: httpx.AsyncClient
    user: dict[str, Any]
    token: str
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def email(self) -> str:
        return str(self.user["email"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


def unique_email(stem: str = "user") -> str:
    return f"{stem}{next(_numbers)}@example.com"


async def sign_up(client: httpx.AsyncClient, *, email: str | None = None, name: str = "Test User") -> Account:
    email = email or unique_email()
    registered = await client.post(
        "/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Account(client=client, user=registered.json(), token=login.json()["access_token"])
