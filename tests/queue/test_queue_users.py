"""Users and their secrets: scrypt hashes, roles, bearer-token digests."""

from __future__ import annotations

import pytest

from exceptions_queue.users import Role, User, UserError, check_username, hash_password, token_digest, verify_password


def test_a_password_verifies_against_its_scrypt_hash_and_nothing_else():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("correct horse battery", "md5$abc")
    assert hash_password("correct horse battery") != stored  # salted


def test_short_passwords_and_odd_usernames_are_refused_with_a_reason():
    with pytest.raises(UserError, match="10 characters"):
        hash_password("short")
    with pytest.raises(UserError, match="username"):
        check_username("<script>")
    assert check_username(" Dana.K ") == "dana.k"


def test_viewers_cannot_decide_and_only_admins_manage_users():
    assert not User(username="vic", role=Role.viewer).can_decide
    assert User(username="dana", role=Role.coordinator).can_decide
    assert User(username="fin", role=Role.finance).can_decide
    assert not User(username="fin", role=Role.finance).can_manage_users
    assert User(username="ada", role=Role.admin).can_manage_users


def test_a_token_is_stored_as_a_digest_not_as_itself():
    assert token_digest("co_abc") != "co_abc" and len(token_digest("co_abc")) == 64
