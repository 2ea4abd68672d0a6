"""The key store: keys by sealed CID, erasure that destroys the key and keeps a record."""

from __future__ import annotations

from pathlib import Path

import pytest

from peercare.content.cid import compute_cid
from peercare.content.crypto import new_key
from peercare.content.errors import ContentErased
from peercare.content.keystore import KeyMissing, KeyStore

CID = compute_cid(b"sealed block")


def test_saved_key_survives_reopening(tmp_path: Path) -> None:
    key = new_key()
    keys = KeyStore.in_folder(tmp_path)
    keys.save(CID, key, plain_cid=compute_cid(b"plain"))
    keys.close()
    reopened = KeyStore.in_folder(tmp_path)
    assert reopened.key(CID) == key
    assert reopened.sealed_for(compute_cid(b"plain")) == CID


def test_unknown_key_is_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(KeyMissing):
        KeyStore.in_folder(tmp_path).key(CID)


def test_erasure_destroys_key_and_keeps_record(tmp_path: Path) -> None:
    key = new_key()
    keys = KeyStore.in_folder(tmp_path)
    keys.save(CID, key, plain_cid=compute_cid(b"plain"))
    record = keys.erase(CID, erased_by="dpo@brand.example", reason="GDPR art. 17 request #88")
    keys.close()

    reopened = KeyStore.in_folder(tmp_path)
    with pytest.raises(ContentErased, match=r"erased .* by dpo@brand\.example: GDPR art\. 17") as info:
        reopened.key(CID)
    assert info.value.record == record == reopened.erasure(CID)
    assert reopened.erasures() == [record]
    assert reopened.sealed_for(compute_cid(b"plain")) is None
    # The key's bytes are gone from the database files, not just unlinked from a row.
    for file in tmp_path.iterdir():
        assert key not in file.read_bytes(), file


def test_erasing_twice_keeps_the_first_record(tmp_path: Path) -> None:
    keys = KeyStore.in_folder(tmp_path)
    keys.save(CID, new_key())
    first = keys.erase(CID, erased_by="a", reason="first")
    assert keys.erase(CID, erased_by="b", reason="second") == first


def test_an_erased_identifier_cannot_get_a_key_again(tmp_path: Path) -> None:
    keys = KeyStore.in_folder(tmp_path)
    keys.save(CID, new_key())
    keys.erase(CID, erased_by="a", reason="asked")
    with pytest.raises(ContentErased):
        keys.save(CID, new_key())


def test_erasure_needs_who_and_why(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="who"):
        KeyStore.in_folder(tmp_path).erase(CID, erased_by="", reason="")
