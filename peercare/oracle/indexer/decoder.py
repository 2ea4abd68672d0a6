"""The ledger's logs as Python values: which events the indexer projects, by contract
(`PROJECTED_EVENTS`), their ABI specs by topic (`EventSpec`, `LogDecoder`), and the decoding of a
log's topics and data (addresses checksummed, fixed-size bytes as 0x-hex text)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from peercare.chain.deployment import Deployment
from peercare.oracle.indexer.errors import IndexerError

#: The events projected, by contract.
PROJECTED_EVENTS = {
    "PeerCareLedger": (
        "BrandRegistered",
        "PoolDeposited",
        "PoolWithdrawn",
        "QuestionPosted",
        "QuestionExpired",
        "QuestionBatchPosted",
        "BatchedQuestionOpened",
        "BatchedQuestionAccepted",
        "QuestionBatchReleased",
        "AnswerRecorded",
        "AnswerBatchAnchored",
        "RoutingBatchAnchored",
        "RatingBatchAnchored",
        "AnswerRated",
        "AnswerAccepted",
        "RewardCredited",
        "EarningsWithdrawn",
    ),
    "ReputationRoots": ("ReputationRootPublished", "RootCorrected"),
}


@dataclass(frozen=True)
class EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) from topics 1..3
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]

    def decode(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise IndexerError(f"{self.name} log with {len(topics)} topics, expected {len(self.indexed) + 1}")
        values = {
            name: _topic_value(abi_type, topic)
            for (name, abi_type), topic in zip(self.indexed, topics[1:], strict=True)
        }
        raw = bytes.fromhex(data.removeprefix("0x"))
        for name, abi_type, value in zip(
            self.data_names, self.data_types, decode(list(self.data_types), raw), strict=True
        ):
            values[name] = _normal(abi_type, value)
        return values


class LogDecoder:
    """The projected events of a deployment, by the address of the contract that emits them and
    their topic0; `addresses` and `topics` are what to ask `eth_getLogs` for."""

    def __init__(self, deployment: Deployment) -> None:
        self._events: dict[tuple[str, str], EventSpec] = {}
        for contract, names in PROJECTED_EVENTS.items():
            address = deployment.contracts[contract].address.lower()
            for topic0, spec in event_specs(deployment.abi(contract), names).items():
                self._events[(address, topic0)] = spec
        self.addresses = sorted({address for address, _ in self._events})
        self.topics = sorted({topic0 for _, topic0 in self._events})

    def spec(self, entry: Any) -> EventSpec | None:
        """The projected event this log is, or None (another contract's, or an event not projected)."""
        topics = entry["topics"]
        return self._events.get((entry["address"].lower(), topics[0].lower())) if topics else None


def event_specs(abi: Iterable[Mapping[str, Any]], names: Iterable[str]) -> dict[str, EventSpec]:
    """topic0 -> spec for the named events of `abi`."""
    wanted = set(names)
    specs = {}
    for entry in abi:
        if entry.get("type") != "event" or entry["name"] not in wanted:
            continue
        inputs = entry["inputs"]
        signature = f"{entry['name']}({','.join(param['type'] for param in inputs)})"
        topic0 = "0x" + keccak(text=signature).hex()
        specs[topic0] = EventSpec(
            name=entry["name"],
            indexed=tuple((param["name"], param["type"]) for param in inputs if param["indexed"]),
            data_names=tuple(param["name"] for param in inputs if not param["indexed"]),
            data_types=tuple(param["type"] for param in inputs if not param["indexed"]),
        )
        wanted.discard(entry["name"])
    if wanted:
        raise IndexerError(f"the ABI lacks the events {sorted(wanted)}: rebuild the contracts")
    return specs


def _topic_value(abi_type: str, topic: str) -> Any:
    topic = topic.lower()
    if abi_type == "address":
        return _checksum("0x" + topic[-40:])
    if abi_type.startswith(("uint", "int")):
        value = int(topic, 16)
        if abi_type.startswith("int") and value >= 2**255:
            value -= 2**256
        return value
    if abi_type == "bytes32" or abi_type == "bool":
        return topic if abi_type == "bytes32" else int(topic, 16) != 0
    raise IndexerError(f"indexed parameters of type {abi_type} are not supported")


def _normal(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return _checksum(value.lower())
    if isinstance(value, bytes) and abi_type != "bytes":
        return "0x" + value.hex()
    return value


@functools.lru_cache(maxsize=65_536)
def _checksum(address: str) -> str:
    return to_checksum_address(address)
