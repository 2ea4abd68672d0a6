"""`peercare routing eval`: the routing evaluation of ROUTING_EVAL.md on a Stack Exchange dump."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from peercare.routing.baselines import BASELINES
from peercare.routing.dump import DumpError, load_dump
from peercare.routing.evaluation import Router, evaluate, summarize
from peercare.routing.ranker import router as peercare_router

ROUTERS: dict[str, Router] = {"router": peercare_router, **BASELINES}


def _err(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def routing() -> None:
    """Routing questions to advocates."""


@routing.command("eval")
@click.option(
    "--dump",
    "dump_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A Stack Exchange dump folder (Posts.xml, optionally Votes.xml).",
)
@click.option("--train-frac", type=float, default=0.8, show_default=True, help="Share of questions before the cut.")
@click.option("--cut", "cut_text", default=None, help="Explicit cut timestamp (ISO 8601); overrides --train-frac.")
@click.option("--static", is_flag=True, help="Freeze what routers know at the cut (default: rolling).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
def eval_command(dump_dir: Path, train_frac: float, cut_text: str | None, static: bool, as_json: bool) -> None:
    """Rank candidates for each test question with the PeerCare router and the reference baselines,
    and score where the accepted answerer lands."""
    cut = None
    if cut_text is not None:
        try:
            cut = datetime.fromisoformat(cut_text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO 8601 timestamp: {cut_text}", param_hint="--cut") from exc
    if not 0.0 <= train_frac < 1.0:
        raise click.BadParameter("must be in [0, 1)", param_hint="--train-frac")
    started = time.perf_counter()
    try:
        dump = load_dump(dump_dir)
    except DumpError as exc:
        _err(f"error: {exc}")
        sys.exit(1)
    votes = (
        "no Votes.xml: acceptance from answers, no vote scores" if dump.votes is None else f"{len(dump.votes)} votes"
    )
    _err(f"{dump_dir}: {len(dump.questions)} questions, {len(dump.answers)} answers, {votes}")
    try:
        evaluation = evaluate(dump, ROUTERS, train_frac=train_frac, cut=cut, static=static, progress=_err)
    except ValueError as exc:
        _err(f"error: {exc}")
        sys.exit(1)
    report = summarize(evaluation)
    _err(
        f"cut {report['cut']} ({report['mode']}): {report['n_test']} test questions, {report['n_cold']} cold, "
        f"{report['n_self_answered']} self-answered excluded, mean pool {report['pool_size_mean']}"
    )
    _err(f"{'router':22} {'MRR [95% CI]':>24} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'warm MRR':>9}")
    for name in ROUTERS:
        block = report[name]
        assert isinstance(block, dict)
        lo, hi = block["mrr_ci95"]
        _err(
            f"{name:22} {block['mrr']:>7.3f} [{lo:.3f}, {hi:.3f}]   {block['hit@1']:>6.3f} {block['hit@5']:>6.3f} "
            f"{block['hit@10']:>6.3f} {block['warm_mrr']:>9.3f}"
        )
    if report.get("best_baseline"):
        _err(
            f"router / best baseline ({report['best_baseline']}): {report['ratio_to_best_baseline']} "
            f"(95% CI {report['ratio_to_best_baseline_ci95']})"
        )
    _err(f"done in {time.perf_counter() - started:.1f} s")
    if as_json:
        click.echo(json.dumps(report, sort_keys=False))


@routing.command("prove")
@click.argument("question_id")
@click.argument("round_number", metavar="ROUND", type=click.IntRange(0, 2**32 - 1))
@click.argument("advocate")
def prove(question_id: str, round_number: int, advocate: str) -> None:
    """Prove, from the chain and the content store alone, that ADVOCATE was offered QUESTION_ID at
    ROUND (the zero address: that the round was decided). Prints the proof as JSON; exits 1 when no
    anchored routing batch proves it. Reads PEERCARE_RPC_URL, the deployment, and the content
    (PEERCARE_DATA_DIR's store, or PEERCARE_IPFS_API_URL)."""
    from web3 import Web3

    from peercare.chain.deployment import Deployment, DeploymentError
    from peercare.config import Settings
    from peercare.content.errors import ContentError
    from peercare.content.vault import Vault
    from peercare.oracle.manifest import ManifestError
    from peercare.oracle.posted_questions import questions_on_chain
    from peercare.routing.anchors import offer_proof
    from peercare.runtime import public_store

    if not re.fullmatch(r"0x[0-9a-fA-F]{64}", question_id):
        raise click.BadParameter("a question id is 0x and 64 hex digits", param_hint="QUESTION_ID")
    if not Web3.is_address(advocate):
        raise click.BadParameter("not an address", param_hint="ADVOCATE")
    settings = Settings()
    try:
        deployment = Deployment.load(settings.deployment_path)
    except DeploymentError as exc:
        raise click.UsageError(str(exc)) from None
    w3 = Web3(Web3.HTTPProvider(settings.effective_rpc_url, request_kwargs={"timeout": 30}))
    ledger = deployment.contract(w3, "PeerCareLedger")
    start = deployment.deployed_at_block
    vault = Vault.open(settings.data_dir, ipfs_api_url=settings.ipfs_api_url)
    try:
        # Its brand, from its posting: `QuestionPosted`, or the manifest of its `QuestionBatchPosted`.
        postings = questions_on_chain(ledger, public_store(vault.stores), start).get(bytes.fromhex(question_id[2:]))
        if not postings:
            _err(f"question {question_id} is not on chain")
            sys.exit(1)
        brand = postings[0].brand_id
        logs = ledger.events.RoutingBatchAnchored.get_logs(from_block=start, argument_filters={"brandId": brand})
        batches = [
            (brand, "0x" + log["args"]["batchRoot"].hex(), "0x" + log["args"]["manifestDigest"].hex()) for log in logs
        ]
        found = offer_proof(public_store(vault.stores), batches, question_id, round_number, advocate)
    except (ManifestError, ContentError) as exc:
        _err(f"error: {exc}")
        sys.exit(1)
    finally:
        vault.close()
    if found is None or not found.verifies():
        _err(
            f"no routing batch anchored by brand {brand} proves that {advocate} was offered {question_id} "
            f"at round {round_number}"
        )
        sys.exit(1)
    block = next(log["blockNumber"] for log in logs if "0x" + log["args"]["batchRoot"].hex() == found.root)
    _err(f"verified: leaf in root {found.root}, anchored by brand {brand} in block {block}")
    click.echo(json.dumps(dataclasses.asdict(found) | {"block_number": block}, sort_keys=True))
