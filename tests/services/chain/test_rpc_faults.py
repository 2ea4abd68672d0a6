"""The oracle's RPC client survives transport faults, against a real anvil behind a fault-injecting proxy.

anvil runs on 127.0.0.1:8680 for the module, the proxy (one per test) on 8681. Sleeps are recorded
instead of slept and timeouts are short, so the whole file takes seconds.
"""

from __future__ import annotations

import http.client
import logging
import random
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address

from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable
from tests.support.faultproxy import FAULTS, FaultProxy

ROOT = Path(__file__).resolve().parents[3]
ANVIL = ROOT / ".toolchain" / "bin" / "anvil"
ANVIL_PORT = 8680
PROXY_PORT = 8681
RECORDER_PORT = 8682
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public dev account 0
CLIENT_TIMEOUT_S = 0.25  # the proxy holds a "timeout" for 1 s, well past this

MakeRpc = Callable[..., tuple[Rpc, list[float]]]


def _direct(url: str, method: str, *params: Any) -> Any:
    """Ask anvil itself, bypassing the proxy and the client under test."""
    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture(scope="module")
def anvil() -> Iterator[str]:
    url = f"http://127.0.0.1:{ANVIL_PORT}"
    process = subprocess.Popen(
        [str(ANVIL), "--port", str(ANVIL_PORT), "--host", "127.0.0.1", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"anvil exited with {process.returncode}: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                assert _direct(url, "eth_chainId") == "0x7a69"
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("anvil did not answer within 20 s")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()  # type: ignore[union-attr]


@pytest.fixture
def proxy(anvil: str) -> Iterator[FaultProxy]:
    with FaultProxy(anvil, PROXY_PORT, hold_s=1.0) as running:
        yield running


@pytest.fixture
def make_rpc(proxy: FaultProxy) -> Iterator[MakeRpc]:
    """Rpc clients through the proxy, fast settings by default; each returns with the list of its sleeps."""
    clients: list[Rpc] = []

    def make(**options: Any) -> tuple[Rpc, list[float]]:
        sleeps: list[float] = []
        settings: dict[str, Any] = {"timeout_s": CLIENT_TIMEOUT_S, "backoff_base_s": 0.01, "backoff_max_s": 0.05}
        settings.update(options)
        client = Rpc(settings.pop("url", proxy.url), sleep=sleeps.append, **settings)
        clients.append(client)
        return client, sleeps

    yield make
    for client in clients:
        client.close()


def _fresh_address() -> str:
    return "0x" + secrets.token_hex(20)


def _funded_address(anvil: str, wei: int) -> str:
    address = _fresh_address()
    _direct(anvil, "anvil_setBalance", address, hex(wei))
    return address


# --- the proxy itself ---------------------------------------------------------------------------------


def test_proxy_forwards_a_clean_request_and_its_response_byte_for_byte(anvil: str) -> None:
    received: list[bytes] = []
    answer = b'{ "jsonrpc" : "2.0",\n "id":"\xc3\xa9", "result" : "0x1" }  '

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    recorder = ThreadingHTTPServer(("127.0.0.1", RECORDER_PORT), Recorder)
    serving = threading.Thread(target=recorder.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    request = b'{"method":"eth_chainId",  "params":[], "id":"\xc3\xa9","jsonrpc":"2.0"}\n'
    try:
        with FaultProxy(f"http://127.0.0.1:{RECORDER_PORT}", PROXY_PORT) as proxy:
            response = httpx.post(proxy.url, content=request, headers={"Content-Type": "application/json"})
            assert proxy.counts["forwarded"] == 1
            assert sum(proxy.counts[kind] for kind in FAULTS) == 0
    finally:
        recorder.shutdown()
        recorder.server_close()
        serving.join()
    assert received == [request]
    assert response.status_code == 200
    assert response.content == answer


def test_proxy_stop_closes_the_socket_and_every_connection_and_leaks_no_thread(anvil: str) -> None:
    threads_before = set(threading.enumerate())
    proxy = FaultProxy(anvil, PROXY_PORT, hold_s=30.0)
    proxy.start()
    keep_alive = httpx.Client()
    assert keep_alive.post(proxy.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).json()["result"]
    proxy.inject("timeout")
    held = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=10)
    held.request("POST", "/", body=b'{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}')
    deadline = time.monotonic() + 5
    while proxy.counts["timeout"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.counts["timeout"] == 1  # one connection idles in keep-alive, one is held

    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2  # neither the 30 s hold nor the idle connection delayed it
    assert set(threading.enumerate()) == threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", PROXY_PORT), timeout=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        held.getresponse()
    held.close()
    keep_alive.close()


# --- retries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_kind_is_retried_and_the_call_returns_the_true_result(
    anvil: str, proxy: FaultProxy, make_rpc: MakeRpc, fault: str
) -> None:
    address = _funded_address(anvil, 123_456_789)
    rpc, sleeps = make_rpc()
    proxy.inject(fault, fault)
    assert rpc.call("eth_getBalance", [address, "latest"]) == hex(123_456_789)
    assert proxy.counts[fault] == 2
    assert rpc.retries == 2
    assert len(sleeps) == 2


def test_retry_after_of_a_429_is_honoured_and_capped_by_backoff_max(proxy: FaultProxy, make_rpc: MakeRpc) -> None:
    patient, patient_sleeps = make_rpc(backoff_max_s=5.0)
    proxy.retry_after = "1"
    proxy.inject("http429")
    assert patient.call("eth_chainId") == "0x7a69"
    assert patient_sleeps == [1.0]

    hasty, hasty_sleeps = make_rpc(backoff_max_s=0.3)
    proxy.inject("http429")
    assert hasty.call("eth_chainId") == "0x7a69"
    assert hasty_sleeps == [0.3]

    immediate, immediate_sleeps = make_rpc(backoff_max_s=5.0)
    proxy.retry_after = "0"
    proxy.inject("http429")
    assert immediate.call("eth_chainId") == "0x7a69"
    assert immediate_sleeps == [0.0]


def test_backoff_doubles_from_the_base_up_to_the_cap(
    proxy: FaultProxy, make_rpc: MakeRpc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda _low, high: high)  # the jitter's upper bound
    rpc, sleeps = make_rpc(backoff_base_s=0.1, backoff_max_s=1.0, max_attempts=8)
    proxy.inject(*["http503"] * 7)
    assert rpc.call("eth_chainId") == "0x7a69"
    assert sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_backoff_is_full_jitter_below_the_growing_bound(proxy: FaultProxy, make_rpc: MakeRpc) -> None:
    rpc, sleeps = make_rpc(backoff_base_s=0.1, backoff_max_s=1.0, max_attempts=8)
    for _ in range(10):
        proxy.inject(*["http503"] * 7)
        assert rpc.call("eth_chainId") == "0x7a69"
    bounds = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    per_retry = [sleeps[n :: len(bounds)] for n in range(len(bounds))]
    for bound, delays in zip(bounds, per_retry, strict=True):
        assert all(0.0 <= delay <= bound for delay in delays)
    assert len(set(sleeps)) > len(bounds)  # random, not a fixed schedule
    assert max(per_retry[-1]) > max(per_retry[0])  # grows


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("http503", "HTTP 503"),
        ("http429", "HTTP 429"),
        ("timeout", "timeout"),
        ("drop", "connection error"),
        ("bad_json", "invalid JSON"),
    ],
)
def test_faults_outlasting_max_attempts_raise_unavailable_naming_fault_attempts_and_url(
    proxy: FaultProxy, make_rpc: MakeRpc, fault: str, named: str
) -> None:
    proxy.retry_after = "0"
    rpc, sleeps = make_rpc(max_attempts=3)
    proxy.inject(fault, fault, fault)
    with pytest.raises(RpcUnavailable) as raised:
        rpc.call("eth_blockNumber")
    message = str(raised.value)
    assert named in message
    assert "3 attempts" in message
    assert proxy.url in message
    assert "eth_blockNumber" in message
    assert (raised.value.attempts, rpc.retries, len(sleeps)) == (3, 2, 2)
    assert proxy.counts[fault] == 3
    assert rpc.call("eth_chainId") == "0x7a69"  # the same client goes on once the node is back


def test_an_http_error_that_retrying_cannot_cure_raises_unavailable_at_once(anvil: str, make_rpc: MakeRpc) -> None:
    rpc, sleeps = make_rpc(url=f"{anvil}/no-such-path")  # anvil answers 404
    with pytest.raises(RpcUnavailable) as raised:
        rpc.call("eth_chainId")
    assert "HTTP 404" in str(raised.value)
    assert (raised.value.attempts, rpc.retries, sleeps) == (1, 0, [])


def test_url_credentials_never_appear_in_errors_or_logs(
    proxy: FaultProxy, make_rpc: MakeRpc, caplog: pytest.LogCaptureFixture
) -> None:
    key = "0123456789abcdef0123456789abcdef"
    rpc, _ = make_rpc(url=f"http://alice:hunter2@127.0.0.1:{PROXY_PORT}/v3/{key}?apikey=s3cret", max_attempts=2)
    proxy.inject("http503", "drop")
    with caplog.at_level(logging.DEBUG, logger="peercare.chain.rpc"), pytest.raises(RpcUnavailable) as raised:
        rpc.call("eth_blockNumber")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "eth_blockNumber" in warnings[0].getMessage() and "HTTP 503" in warnings[0].getMessage()
    for text in [str(raised.value), repr(rpc), caplog.text]:
        for secret in ["alice", "hunter2", key, "apikey", "s3cret"]:
            assert secret not in text
    assert f"127.0.0.1:{PROXY_PORT}/v3/***" in str(raised.value)


def test_raw_transactions_are_not_logged_above_debug(
    anvil: str, proxy: FaultProxy, make_rpc: MakeRpc, caplog: pytest.LogCaptureFixture
) -> None:
    rpc, _ = make_rpc()
    raw = "0x02f8" + "ab" * 60  # not a valid transaction: the node refuses it, after a retry
    proxy.inject("http503")
    with caplog.at_level(logging.INFO, logger="peercare.chain.rpc"), pytest.raises(RpcError):
        rpc.call("eth_sendRawTransaction", [raw])
    assert caplog.records  # the retry was logged...
    assert "abab" not in caplog.text  # ...without the transaction


# --- answers from the node ------------------------------------------------------------------------------


def test_a_jsonrpc_error_raises_rpc_error_at_once_without_retry(proxy: FaultProxy, make_rpc: MakeRpc) -> None:
    rpc, sleeps = make_rpc()
    with pytest.raises(RpcError) as unknown:
        rpc.call("eth_noSuchMethod")
    assert (unknown.value.code, unknown.value.message) == (-32601, "Method not found")
    assert str(unknown.value) == "Method not found (code -32601)"
    with pytest.raises(RpcError) as bad_address:
        rpc.call("eth_getBalance", ["0x12", "latest"])
    assert bad_address.value.code == -32602
    assert (rpc.retries, sleeps, proxy.counts["forwarded"]) == (0, [], 2)


def test_batch_answers_in_order_with_per_call_errors_in_their_slots(
    anvil: str, proxy: FaultProxy, make_rpc: MakeRpc
) -> None:
    address = _funded_address(anvil, 42)
    rpc, _ = make_rpc()
    results = rpc.batch(
        [
            ("eth_chainId", []),
            ("eth_noSuchMethod", []),
            ("eth_getBalance", [address, "latest"]),
            ("eth_getBalance", ["0x12", "latest"]),
            ("eth_blockNumber", []),
        ]
    )
    assert results[0] == "0x7a69"
    assert isinstance(results[1], RpcError) and results[1].code == -32601
    assert results[2] == hex(42)
    assert isinstance(results[3], RpcError) and results[3].code == -32602
    assert results[4] == _direct(anvil, "eth_blockNumber")
    assert proxy.counts["forwarded"] == 1  # one HTTP request
    assert rpc.batch([]) == []


def test_a_batch_is_retried_as_one_request(anvil: str, proxy: FaultProxy, make_rpc: MakeRpc) -> None:
    addresses = [_funded_address(anvil, wei) for wei in (1, 22, 333)]
    rpc, _ = make_rpc()
    proxy.inject("drop", "http503", "bad_json")
    assert rpc.batch([("eth_getBalance", [address, "latest"]) for address in addresses]) == ["0x1", "0x16", "0x14d"]
    assert (rpc.retries, proxy.counts["forwarded"]) == (3, 1)


# With automine, anvil mines asynchronously: the retry meets either the mined transaction ("nonce too low") or
# the one still in its pool ("transaction already imported"). Without it, always the second.
@pytest.mark.parametrize(
    ("automine", "anvil_says"),
    [(True, {"nonce too low", "transaction already imported"}), (False, {"transaction already imported"})],
)
def test_a_lost_response_to_send_raw_transaction_makes_the_retry_fail_though_the_transaction_landed_once(
    anvil: str, proxy: FaultProxy, make_rpc: MakeRpc, automine: bool, anvil_says: set[str]
) -> None:
    """The signer's case: the node took the transaction, the response was lost, the client retried the
    same bytes, and the node refused them as a duplicate. The transaction is on chain exactly once."""
    sender = Account.from_key(DEV_KEY)
    nonce = int(_direct(anvil, "eth_getTransactionCount", sender.address, "pending"), 16)
    signed = sender.sign_transaction(
        {
            "to": to_checksum_address(_fresh_address()),
            "value": 12345,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "nonce": nonce,
            "chainId": 31337,
        }
    )
    tx_hash = signed.hash.to_0x_hex()
    rpc, _ = make_rpc()
    _direct(anvil, "evm_setAutomine", automine)
    try:
        proxy.inject("drop_after_forward")
        with pytest.raises(RpcError) as raised:
            rpc.call("eth_sendRawTransaction", [signed.raw_transaction.to_0x_hex()])
        assert raised.value.code == -32003
        assert raised.value.message in anvil_says
        assert (rpc.retries, proxy.counts["forwarded"]) == (1, 2)
        if not automine:
            _direct(anvil, "evm_mine")
    finally:
        _direct(anvil, "evm_setAutomine", True)

    assert _direct(anvil, "eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
    assert int(_direct(anvil, "eth_getTransactionCount", sender.address, "latest"), 16) == nonce + 1
    landed = [
        tx
        for number in range(int(_direct(anvil, "eth_blockNumber"), 16) + 1)
        for tx in _direct(anvil, "eth_getBlockByNumber", hex(number), True)["transactions"]
        if tx["from"].lower() == sender.address.lower() and int(tx["nonce"], 16) == nonce
    ]
    assert [tx["hash"] for tx in landed] == [tx_hash]


# --- soak --------------------------------------------------------------------------------------------------


def test_300_calls_through_30_percent_random_faults_of_every_kind_all_return_the_true_result(
    anvil: str, proxy: FaultProxy, make_rpc: MakeRpc
) -> None:
    balances = {_funded_address(anvil, 10**18 + n): hex(10**18 + n) for n in range(5)}
    balances[_fresh_address()] = "0x0"
    block_number = _direct(anvil, "eth_blockNumber")
    addresses = list(balances)
    rpc, _ = make_rpc(timeout_s=0.2, max_attempts=12)
    proxy.retry_after = "0"
    proxy.set_random(0.3, FAULTS, seed=20240611)

    for n in range(300):
        if n % 2:
            address = addresses[n % len(addresses)]
            assert rpc.call("eth_getBalance", [address, "latest"]) == balances[address]
        else:
            assert rpc.call("eth_blockNumber") == block_number

    faults = {kind: proxy.counts[kind] for kind in FAULTS}
    assert all(count > 0 for count in faults.values()), faults
    assert sum(faults.values()) > 60, faults
    assert rpc.retries >= sum(faults.values())  # one retry per fault (more only if a clean pass was slow)
