"""`peercare demo`: replay a Stack Exchange community's history as a brand against a running PeerCare."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from peercare.config import Settings
from peercare.demo.brand_setup import brand_name, set_up_brand
from peercare.demo.connection import connect
from peercare.demo.deliveries import send_all
from peercare.demo.epoch import publish_reputation
from peercare.demo.errors import DemoError
from peercare.demo.offers import (
    OfferTaker,
    connect_brand_system,
    halves,
    offer_figures,
    settle_offers,
    wait_for_deliveries,
)
from peercare.demo.plan import attribution, build_plan
from peercare.demo.progress import wait_for_oracle
from peercare.demo.summary import chain_figures, describe, tokens
from peercare.routing.dump import DumpError, load_dump

#: The dump shipped with the repository (tests/data), used when no --dump is given.
DEFAULT_DUMP = Path(__file__).resolve().parents[2] / "tests" / "data" / "stackexchange" / "cardano-se"


@click.command("demo")
@click.option(
    "--dump",
    "dump_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DUMP,
    show_default="the cardano-se dump in tests/data/stackexchange",
    help="A Stack Exchange dump folder (Posts.xml, optionally Votes.xml and README.md).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Replay only the first N questions (oldest first).")
@click.option(
    "--rate", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Deliveries per second; 0: no limit."
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Give up after this many seconds without progress.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on the last line.")
def demo(dump_dir: Path, limit: int | None, rate: float, wait_timeout: float, as_json: bool) -> None:
    """Replay a Stack Exchange dump as a brand, through the generic webhook of a running PeerCare
    (`peercare up` in another terminal, same PEERCARE_* settings): questions become tickets with
    bounties, answers come from advocates with their own (demo) wallets, acceptances pay the
    bounties and votes become ratings; then a reputation epoch is published and summarised.

    Running it again resumes: what the oracle already has is answered "duplicate"."""
    started = time.monotonic()
    bars = sys.stderr
    try:
        dump = load_dump(dump_dir)
    except (DumpError, OSError) as exc:
        raise click.ClickException(
            f"{exc}: --dump takes a Stack Exchange dump folder holding Posts.xml (Votes.xml optional)"
        ) from None
    if not dump.questions:
        raise click.ClickException(f"{dump_dir}: Posts.xml holds no question")
    site = dump_dir.resolve().name
    plan = build_plan(dump, site, limit=limit)
    planned = plan.counts()
    click.echo(f"PeerCare demo: the {site} Stack Exchange dump replayed as a brand ({dump_dir})")
    for line in attribution(dump_dir):
        click.echo(f"  {line}")
    click.echo(
        f"plan: {planned.questions:,} questions, {planned.answers:,} advocate answers ({planned.signed:,} signed, "
        f"{planned.batched:,} batched), {planned.asker_replies:,} replies by askers, {planned.acceptances:,} "
        f"acceptances, {planned.ratings:,} ratings; topics {', '.join(plan.topics)}"
    )
    settings = Settings()
    timings: dict[str, float] = {"plan_s": time.monotonic() - started}
    try:
        with connect(settings) as conn:
            timings["connect_s"] = time.monotonic() - started
            setup = set_up_brand(conn, plan)
            timings["set_up_s"] = time.monotonic() - started
            click.echo(
                f"brand {setup.brand_id} ({brand_name(site)}) {'registered now' if setup.registered else 'found'}; "
                f"pool {'topped up with ' + tokens(setup.deposited) + ' tokens' if setup.deposited else 'funded'}; "
                f"webhooks to {conn.api_base}/api/v1/webhooks/{setup.brand_id}/generic"
            )
            first, second = halves(plan)
            sent = send_all(conn, first, setup, rate=rate, bar_file=bars)
            wait_for_oracle(conn, setup.brand_id, bar_file=bars, timeout_s=wait_timeout)
            publish_reputation(conn, first, setup.brand_id, bar_file=bars, timeout_s=wait_timeout)
            timings["first_half_s"] = time.monotonic() - started
            with connect_brand_system(conn, setup.brand_id) as brand_system:
                taker = OfferTaker(conn, plan, setup.brand_id, timeout_s=wait_timeout)
                with taker.sweeping():
                    settle_offers(taker, first, bar_file=bars)
                    sent += send_all(conn, second, setup, rate=rate, bar_file=bars, before=taker.before)
                    timings["sent_s"] = time.monotonic() - started
                    wait_for_oracle(conn, setup.brand_id, bar_file=bars, timeout_s=wait_timeout)
                    timings["on_chain_s"] = time.monotonic() - started
                    wait_for_deliveries(conn, setup.brand_id, bar_file=bars, timeout_s=wait_timeout)
                routed = offer_figures(conn, setup.brand_id, brand_system)
            epoch = publish_reputation(conn, plan, setup.brand_id, bar_file=bars, timeout_s=wait_timeout)
            timings["epoch_s"] = time.monotonic() - started
            figures = chain_figures(conn, setup.brand_id)
            symbol = str(conn.deployment.contract(conn.w3, "PeerCareToken").functions.symbol().call())
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    summary = {
        "site": site,
        "dump": str(dump_dir),
        "attribution": attribution(dump_dir),
        "brand_id": setup.brand_id,
        "brand": brand_name(site),
        "questions_in_dump": len(dump.questions),
        "questions_planned": planned.questions,
        "planned": planned.as_json(),
        "deliveries": {
            "total": sent.total,
            "accepted": sent.accepted,
            "duplicate": sent.duplicate,
            "ignored": sent.ignored,
            "signed": sent.signed,
        },
        "chain": figures,
        "gas": figures.pop("gas"),
        **routed,
        "token": symbol,
        "epoch": {
            "epoch": epoch.epoch,
            "cut": epoch.cut,
            "published_now": epoch.published_now,
            "manifest_cid": epoch.manifest_cid,
            "note": epoch.note,
            "top": epoch.top,
        },
        "elapsed_s": round(time.monotonic() - started, 3),
        "timings": {name: round(at, 3) for name, at in timings.items()},  # seconds since the start
    }
    click.echo("summary:")
    for line in describe(summary):
        click.echo(line)
    if as_json:
        click.echo(json.dumps(summary, separators=(",", ":")))
    if figures["failed_events"] or figures["failed_writes"]:
        sys.exit(1)


if __name__ == "__main__":
    demo()
