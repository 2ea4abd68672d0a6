"""`make run` in a clone whose path has a dot in a folder name (~/src/github.com/acme/peercare, any
`mktemp -d` folder): the contracts deploy on first start. `brownie run` imports a script by its
absolute path made a dotted module name (tmp.a.b.peercare.scripts.deploy), which such a path
breaks: "No module named 'tmp.a'" (issue 13).

The clone is what `make setup compile` leaves, as far as deploying goes: the package, the Brownie
project and its build copied under the dotted folder (so their own paths have the dot), the
environments and node modules linked, and Brownie's lock shared with this tree's (Brownie's
network list is per user).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

from peercare.chain.deployment import Deployment

ROOT = Path(__file__).resolve().parents[3]
PORT = 8961
NETWORK = "peercare-dotted-path-test"


def clone_into(folder: Path) -> Path:
    folder.mkdir(parents=True)
    no_caches = shutil.ignore_patterns("__pycache__")
    for name in ("peercare", "scripts", "contracts", "build/contracts", "build/interfaces"):
        shutil.copytree(ROOT / name, folder / name, ignore=no_caches)
    for name in ("brownie-config.yaml", "toolchain/brownie_networks.py"):
        (folder / name).parent.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    for name in (".venv-brownie", "node_modules", "build/.brownie.lock"):
        (folder / name).symlink_to(ROOT / name)
    return folder


def test_make_run_deploys_the_contracts_from_a_folder_with_a_dot_in_its_path(tmp_path: Path) -> None:
    clone = clone_into(tmp_path / "src" / "github.com" / "acme" / "peercare")
    env = dict(
        os.environ,
        PATH=f"{ROOT / '.toolchain' / 'bin'}:{clone / '.venv-brownie' / 'bin'}:{os.environ['PATH']}",
        SOLCX_BINARY_PATH=str(ROOT / ".toolchain" / "solc"),
        PEERCARE_DATA_DIR=str(clone / "data"),
        PEERCARE_CHAIN_PORT=str(PORT),
        PEERCARE_BROWNIE_NETWORK=NETWORK,
    )
    env.pop("PYTHONPATH", None)
    # `make run` is `peercare up`, whose chain part is `peercare chain up`: run from the clone, the
    # package imported is the clone's.
    process = subprocess.Popen(
        [sys.executable, "-m", "peercare.cli", "chain", "up"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(line.startswith("running") for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
        if not any(line.startswith("running") for line in lines):
            pytest.fail("peercare chain up did not come up:\n" + "\n".join(lines))
        assert any("deployed now" in line for line in lines), lines
        manifest = clone / "data" / "deployment.json"
        # Deployed by the clone's own script, which names its own build folder.
        assert json.loads(manifest.read_text())["artifacts_dir"] == str(clone / "build" / "contracts")
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{PORT}"))
        assert Deployment.load(manifest).check_live(w3) == []
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "\n".join(lines) + out
