"""Deploy the contracts on first start, through the Brownie deploy script (in Brownie's own
environment: this package never imports Brownie)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from web3 import Web3

from peercare.chain.deployment import Deployment, DeploymentError
from peercare.config import LOCAL_CHAIN_ID, Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: `brownie run SCRIPT --network NETWORK`, but importing the script by its module name from the
#: project root (`scripts.deploy`). Brownie's own `run` imports it by its absolute path made a
#: dotted module name (/tmp/a.b/peercare/scripts/deploy.py becomes `tmp.a.b.peercare.scripts.deploy`,
#: with / on sys.path), which fails in any folder with a dot in its name: "No module named 'tmp.a'".
#: Arguments: project root, module, network id.
BROWNIE_RUN = """\
import importlib, sys
from brownie import network, project
from brownie._config import CONFIG
root, module, network_id = sys.argv[1:]
CONFIG.argv.update(cli="run", network=network_id)
loaded = project.load(root)  # compiles what changed, puts the root on sys.path
loaded.load_config()
network.connect(network_id)
loaded._add_to_main_namespace()  # as `brownie run` does: the script imports its contracts from brownie
importlib.import_module(module).main()
"""


def ensure_deployed(settings: Settings, w3: Web3, echo: Callable[[str], None] = print) -> tuple[Deployment, bool]:
    """The deployment on this chain: the existing manifest when its contracts are live, otherwise a
    fresh deployment. Returns (deployment, deployed_now)."""
    path = settings.deployment_path
    if path.exists():
        deployment = Deployment.load(path)
        problems = deployment.check_live(w3)
        if not problems:
            return deployment, False
        echo(f"the manifest at {path} does not match the chain ({'; '.join(problems)}): deploying again")
    path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PEERCARE_DEPLOYMENT_FILE=str(path.resolve()))
    command = brownie_run_command(settings.brownie, "scripts/deploy.py", settings.brownie_network)
    echo(f"deploying the contracts: Brownie, scripts/deploy.py --network {settings.brownie_network}")
    with brownie_lock():
        if w3.eth.chain_id == LOCAL_CHAIN_ID:
            # Brownie remembers live deployments per chain id and refuses to connect when one of
            # them has no code: on a fresh local chain every such record is stale (our manifest is
            # the record), and another local chain's deployment may have left one.
            shutil.rmtree(PROJECT_ROOT / "build" / "deployments" / str(LOCAL_CHAIN_ID), ignore_errors=True)
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise DeploymentError(
            f"deployment failed (exit {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    deployment = Deployment.load(path)
    problems = deployment.check_live(w3)
    if problems:
        raise DeploymentError(f"deployed, but the chain disagrees with the manifest: {'; '.join(problems)}")
    return deployment, True


def brownie_run_command(brownie: str, script: str, network: str) -> list[str]:
    """The command running `script` (a path under the project root, such as scripts/deploy.py) on
    `network` as `brownie run` does, from any folder (see `BROWNIE_RUN`), with the Python of the
    environment the `brownie` executable belongs to. Run it with the project root as working folder."""
    found = shutil.which(brownie)
    if found is None:
        raise DeploymentError(f"Brownie not found ({brownie!r}); `make run` installs it in .venv-brownie")
    python = Path(found).resolve().parent / "python"  # the link to the script, not its interpreter, is resolved
    if not python.exists():
        raise DeploymentError(f"no Python beside Brownie at {Path(found).resolve()}: expected {python}")
    module = ".".join(Path(script).with_suffix("").parts)
    return [str(python), "-c", BROWNIE_RUN, str(PROJECT_ROOT), module, network]


@contextmanager
def brownie_lock() -> Iterator[None]:
    """One Brownie at a time in this project: it keeps its network list and its record of
    deployments per chain id in shared files, which two runs at once (two local chains both with
    chain id 31337, as in parallel test runs) would read half-written or mistake for their own."""
    lock_path = PROJECT_ROOT / "build" / ".brownie.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def register_brownie_network(name: str, port: int) -> None:
    """Give Brownie a live network `name` for a local chain on 127.0.0.1:`port` (chain 31337), so
    the deploy script can target a chain started on another port (tests, benchmarks)."""
    spec = PROJECT_ROOT / "build" / f"{name}-network.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(
        "live:\n  - name: PeerCare\n    networks:\n"
        f"      - name: PeerCare chain {name}\n        id: {name}\n"
        f"        host: http://127.0.0.1:{port}\n        chainid: {LOCAL_CHAIN_ID}\n"
    )
    python = PROJECT_ROOT / ".venv-brownie" / "bin" / "python"
    with brownie_lock():
        subprocess.run(
            [str(python), str(PROJECT_ROOT / "toolchain" / "brownie_networks.py"), str(spec)],
            check=True,
            capture_output=True,
        )


if __name__ == "__main__":
    # python -m peercare.chain.deploy SCRIPT NETWORK: `brownie run SCRIPT --network NETWORK` from
    # any folder (`make gas`).
    script, network = sys.argv[1:]
    sys.exit(subprocess.run(brownie_run_command("brownie", script, network), cwd=PROJECT_ROOT).returncode)
