"""How the routing evaluation scales with a site's size: `peercare routing eval` on a dump tiled in time.

    .venv/bin/python scripts/bench_routing_eval.py [--dump DIR] [--tiles 1,4,16,64]

A dump tiled k times is k copies of it one after another (post and vote ids offset, dates shifted
by the dump's span plus a day, the same users): a site k times as long, with k times the questions
and answers and about k times the test questions. For each k it times the whole evaluation (the
PeerCare router and the four reference routers, rolling mode, train fraction 0.8, intervals
included) and prints the time per test question; the last line is JSON. DIR defaults to the
shipped cardano-se dump.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peercare.routing.baselines import BASELINES  # noqa: E402
from peercare.routing.dump import load_dump  # noqa: E402
from peercare.routing.evaluation import evaluate, summarize  # noqa: E402
from peercare.routing.ranker import router  # noqa: E402

SHIPPED = ROOT / "tests" / "data" / "stackexchange" / "cardano-se"
FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def tile(source: Path, target: Path, copies: int) -> None:
    """Write `copies` time-shifted copies of the dump in `source` to `target`."""
    posts = ET.parse(source / "Posts.xml").getroot()
    votes_path = source / "Votes.xml"
    votes = ET.parse(votes_path).getroot() if votes_path.is_file() else None
    created = [datetime.strptime(row.attrib["CreationDate"], FORMAT) for row in posts]
    span = max(created) - min(created) + timedelta(days=1)
    offset = max(int(row.attrib["Id"]) for row in posts) + 1
    vote_offset = max((int(row.attrib["Id"]) for row in votes), default=0) + 1 if votes is not None else 0

    def shifted(text: str, k: int) -> str:
        return (datetime.strptime(text, FORMAT) + k * span).strftime(FORMAT)[:-3]

    out_posts = ET.Element("posts")
    out_votes = ET.Element("votes")
    for k in range(copies):
        for row in posts:
            attrs = dict(row.attrib)
            for name in ("Id", "ParentId", "AcceptedAnswerId"):
                if attrs.get(name):
                    attrs[name] = str(int(attrs[name]) + k * offset)
            attrs["CreationDate"] = shifted(attrs["CreationDate"], k)
            ET.SubElement(out_posts, "row", attrs)
        for row in votes if votes is not None else ():
            attrs = dict(row.attrib)
            attrs["Id"] = str(int(attrs["Id"]) + k * vote_offset)
            attrs["PostId"] = str(int(attrs["PostId"]) + k * offset)
            attrs["CreationDate"] = shifted(attrs["CreationDate"], k)
            ET.SubElement(out_votes, "row", attrs)
    target.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(out_posts).write(target / "Posts.xml", encoding="utf-8", xml_declaration=True)
    if votes is not None:
        ET.ElementTree(out_votes).write(target / "Votes.xml", encoding="utf-8", xml_declaration=True)


def run(folder: Path) -> dict[str, object]:
    dump = load_dump(folder)
    started = time.perf_counter()
    report = summarize(evaluate(dump, {"router": router, **BASELINES}))
    seconds = time.perf_counter() - started
    n_test = int(str(report["n_test"]))
    router_block = report["router"]
    assert isinstance(router_block, dict)
    return {
        "questions": len(dump.questions),
        "answers": len(dump.answers),
        "test_questions": n_test,
        "eval_s": round(seconds, 2),
        "ms_per_test_question": round(1000 * seconds / max(n_test, 1), 2),
        "router_mrr": router_block["mrr"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, default=SHIPPED, help="a Stack Exchange dump folder")
    parser.add_argument("--tiles", default="1,4,16,64", help="comma-separated numbers of copies")
    args = parser.parse_args()
    if not (args.dump / "Posts.xml").is_file():
        raise SystemExit(f"{args.dump}: no Posts.xml")
    results = []
    with tempfile.TemporaryDirectory(prefix="peercare-bench-routing-") as tmp:
        for copies in (int(part) for part in args.tiles.split(",")):
            folder = Path(tmp) / f"x{copies}"
            tile(args.dump, folder, copies)
            result = {"tiles": copies, **run(folder)}
            results.append(result)
            print(
                f"x{copies}: {result['questions']:,} questions, {result['answers']:,} answers, "
                f"{result['test_questions']:,} test questions: {result['eval_s']} s "
                f"({result['ms_per_test_question']} ms per test question)",
                file=sys.stderr,
                flush=True,
            )
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    print(json.dumps({"benchmark": "routing_eval_scale", "dump": args.dump.name, "machine": machine, "runs": results}))


if __name__ == "__main__":
    main()
