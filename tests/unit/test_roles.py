"""Roles are ordered: each one may do everything the ones below it may (API.md §3)."""

from __future__ import annotations

import pytest

from threadline.models.domain.workspace import Role

ALLOWED = {
    (Role.OWNER, Role.OWNER),
    (Role.OWNER, Role.EDITOR),
    (Role.OWNER, Role.VIEWER),
    (Role.EDITOR, Role.EDITOR),
    (Role.EDITOR, Role.VIEWER),
    (Role.VIEWER, Role.VIEWER),
}


@pytest.mark.parametrize("held", list(Role))
@pytest.mark.parametrize("needed", list(Role))
def test_a_role_allows_exactly_itself_and_the_roles_below(held: Role, needed: Role) -> None:
    assert held.allows(needed) is ((held, needed) in ALLOWED)


def test_roles_are_spelled_as_in_the_contract() -> None:
    assert [role.value for role in Role] == ["owner", "editor", "viewer"]
