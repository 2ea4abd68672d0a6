"""Per-conversation sealing: authenticated, one key per conversation, tamper-evident."""

from __future__ import annotations

import pytest

from peercare.content.crypto import MAX_PLAINTEXT_SIZE, OVERHEAD, DecryptionFailed, new_key, seal, unseal


def test_seal_round_trips() -> None:
    key = new_key()
    assert unseal(key, seal(key, b"conversation")) == b"conversation"


def test_sealing_is_deterministic_per_key_and_plaintext() -> None:
    key = new_key()
    assert seal(key, b"same") == seal(key, b"same")
    assert seal(new_key(), b"same") != seal(key, b"same")
    assert seal(key, b"same")[1:13] != seal(key, b"other")[1:13]  # the nonce depends on the plaintext


def test_wrong_key_fails_cleanly() -> None:
    sealed = seal(new_key(), b"secret")
    with pytest.raises(DecryptionFailed, match="wrong key"):
        unseal(new_key(), sealed)


def test_altered_ciphertext_fails_cleanly() -> None:
    key = new_key()
    sealed = bytearray(seal(key, b"secret"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        unseal(key, bytes(sealed))


def test_largest_plaintext_still_fits_one_block() -> None:
    key = new_key()
    assert len(seal(key, b"x" * MAX_PLAINTEXT_SIZE)) == MAX_PLAINTEXT_SIZE + OVERHEAD == 262_144
