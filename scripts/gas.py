"""Gas used per ledger operation, on the real contracts, performed as the services perform them.

    make gas        (brownie run scripts/gas.py --network peercare-test)

Prints a table, then one JSON object on its last line. Gas is deterministic: these figures do
not depend on the machine. Batched anchoring is reported per answer (total gas / batch size),
batched posting per question, and acceptances in one transaction per acceptance.
"""

import hashlib
import itertools
import json
import sys
from pathlib import Path

from brownie import accounts, chain, network
from eth_utils import keccak, to_checksum_address

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peercare.core.ledger_ids import (
    ANSWER_LEAF_ENCODING,
    QUESTION_LEAF_ENCODING,
    RATING_LEAF_ENCODING,
    REPUTATION_LEAF_ENCODING,
    ROUTING_LEAF_ENCODING,
    question_id,
    short_string,
)
from peercare.core.merkle import StandardMerkleTree
from peercare.core.typed_data import answer_typed_data, sign_answer, sign_withdrawal, withdrawal_typed_data
from scripts.deploy import deploy_all

ZERO = b"\0" * 32
BATCH_SIZES = (1, 10, 100, 1000)
ACCEPTANCE_BATCH_SIZES = (10, 50)
TX_GAS_CAP = 16_777_216  # EIP-7825 per-transaction cap
#: Signed messages expire at a fixed time (in 2096), so that the bytes signed and their signature,
#: whose zero bytes cost less calldata, are the same on every run.
SIGNATURE_DEADLINE = 4_000_000_000
TARGETS = {
    "answer_direct": 50_000,
    "anchor_per_answer_n100": 600,
    "anchor_per_answer_n1000": 80,
    "accept_and_release": 80_000,
    "routing_anchor_per_decision_n100": 400,  # "a few hundred gas in batches of 100+"
    "rating_batched_per_rating_n100": 600,  # like an answer in a batch of 100
}


def digest(label):
    return hashlib.sha256(label.encode()).digest()


def max_depth(tree, size):
    """The length of the longest proof in a tree of `size` leaves."""
    return max(len(tree.proof(i)) for i in range(size))


def main():
    admin, oracle, brand_admin, advocate = accounts[0], accounts[1], accounts[2], accounts[3]
    contracts, _, _ = deploy_all(admin)
    token, ledger, roots = contracts["PeerCareToken"], contracts["PeerCareLedger"], contracts["ReputationRoots"]
    gas = {}
    max_tx = 0

    def record(name, tx, per=1):
        nonlocal max_tx
        max_tx = max(max_tx, tx.gas_used)
        gas[name] = tx.gas_used // per if per > 1 else tx.gas_used

    brand = ledger.registerBrand(brand_admin, token, [oracle], {"from": admin}).return_value  # admin admits brands
    token.mint(brand_admin, 10**30, {"from": admin})
    token.approve(ledger, 2**256 - 1, {"from": brand_admin})
    record("deposit_first", ledger.deposit(brand, 10**24, {"from": brand_admin}))
    record("deposit", ledger.deposit(brand, 10**24, {"from": brand_admin}))

    deadline = chain.time() + 30 * 86400
    source = short_string("zendesk")
    topic = short_string("billing")

    def post(ticket):
        tx = ledger.postQuestion(brand, source, ticket, topic, 10**18, deadline, digest(ticket), {"from": oracle})
        return tx.return_value, tx

    # Direct answer by the advocate on a question already answered by someone else (steady state).
    q1, tx = post("T-1")
    record("post_question", tx)
    record("answer_direct", ledger.submitAnswer(q1, digest("answer 1"), {"from": advocate}))

    # Relayed answer: the advocate signs EIP-712 typed data, the oracle pays the gas. A fixed key
    # and deadline: the signature is the same on every run.
    signer = accounts.add(keccak(text="PeerCare gas benchmark signer"))
    q2, _ = post("T-2")
    typed = answer_typed_data(
        chain_id=chain.id,
        ledger=ledger.address,
        question_id=q2,
        content_digest=digest("answer 2"),
        nonce=0,
        deadline=SIGNATURE_DEADLINE,
    )
    signature = sign_answer(signer.private_key, typed)
    record(
        "answer_signed_relayed",
        ledger.submitAnswerWithSig(
            (q2, digest("answer 2"), signer.address, 0, SIGNATURE_DEADLINE), signature, {"from": oracle}
        ),
    )

    record(
        "rate",
        ledger.rateAnswer((q1, advocate, digest("answer 1"), ZERO, []), 5, 0, digest("customer 1"), {"from": oracle}),
    )
    record("accept_and_release", ledger.acceptAnswer((q1, advocate, digest("answer 1"), ZERO, []), {"from": oracle}))

    # Swarm: the bounty split across 3 members, each credited for the first time (no remainder).
    q3, _ = post("T-3")
    ledger.submitAnswer(q3, digest("answer 3"), {"from": advocate})
    shares = [(accounts[6], 5_000), (accounts[7], 3_000), (accounts[8], 2_000)]
    record(
        "accept_with_swarm_3",
        ledger.acceptAnswerWithSwarm((q3, advocate, digest("answer 3"), ZERO, []), shares, {"from": oracle}),
    )

    record("withdraw", ledger.withdrawEarnings(token, advocate, {"from": advocate}))

    # Relayed withdrawal: the signer, paid for its signed answer, signs with its next nonce (the one
    # signed answers use too); the oracle pays the gas.
    ledger.acceptAnswer((q2, signer.address, digest("answer 2"), ZERO, []), {"from": oracle})
    typed = withdrawal_typed_data(
        chain_id=chain.id,
        ledger=ledger.address,
        account=signer.address,
        token=token.address,
        to=signer.address,
        nonce=1,
        deadline=SIGNATURE_DEADLINE,
    )
    record(
        "withdraw_signed_relayed",
        ledger.withdrawEarningsWithSig(
            (signer.address, token.address, signer.address, 1, SIGNATURE_DEADLINE),
            sign_withdrawal(signer.private_key, typed),
            {"from": oracle},
        ),
    )

    # Batches: N answers to N questions, anchored in one transaction.
    questions = [post(f"B-{i}")[0] for i in range(max(BATCH_SIZES) + 1)]
    trees = {}
    for n in BATCH_SIZES:
        values = [(questions[i], accounts[5 + i % 4].address, digest(f"batch {n} answer {i}")) for i in range(n)]
        tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
        trees[n] = tree
        record(
            f"anchor_per_answer_n{n}",
            ledger.anchorAnswerBatch(brand, tree.root, n, digest(f"manifest {n}"), {"from": oracle}),
            per=n,
        )

    # Signed answers in a batch: the leaves are the same (the signatures travel in the manifest,
    # never on chain), so the batch costs what an unsigned one does; checking one signature on
    # demand is the view `isAnswerSignatureValid`.
    signed_values, signatures = [], []
    for i in range(100):
        answer_digest = digest(f"signed batch answer {i}")
        typed = answer_typed_data(
            chain_id=chain.id,
            ledger=ledger.address,
            question_id=questions[i],
            content_digest=answer_digest,
            nonce=i,
            deadline=SIGNATURE_DEADLINE,
        )
        signed_values.append((questions[i], signer.address, answer_digest))
        signatures.append(sign_answer(signer.private_key, typed))
    signed = StandardMerkleTree.of(signed_values, ANSWER_LEAF_ENCODING)
    record(
        "answer_signed_batched_per_answer_n100",
        ledger.anchorAnswerBatch(brand, signed.root, 100, digest("signed manifest"), {"from": oracle}),
        per=100,
    )
    first = (signed_values[0][0], signed_values[0][2], signer.address, 0, SIGNATURE_DEADLINE)
    gas["verify_answer_signature"] = ledger.isAnswerSignatureValid.estimate_gas(first, signatures[0])

    # Ratings in a batch: 100 ratings by 100 customers of the batched answers, one event.
    rating_values = [(*trees[100].values[i], 1 + i % 5, 0, digest(f"customer {i}")) for i in range(100)]
    ratings = StandardMerkleTree.of(rating_values, RATING_LEAF_ENCODING)
    record(
        "rating_batched_per_rating_n100",
        ledger.anchorRatingBatch(brand, ratings.root, 100, digest("rating manifest"), {"from": oracle}),
        per=100,
    )

    big = trees[1000]
    ref = (*big.values[0], big.root, big.proof(0))
    gas["verify_answer_proof"] = ledger.isAnswerRecorded.estimate_gas(ref)
    record("accept_and_release_batched_n1000", ledger.acceptAnswer(ref, {"from": oracle}))

    scores = [(accounts[i].address, topic, 1000 * i) for i in range(10)]
    rep = StandardMerkleTree.of(scores, REPUTATION_LEAF_ENCODING)
    # Routing: 100 decisions, each a leaf of its own plus one per person offered (3 direct offers).
    decisions = [(digest(f"routed {i}"), 0, digest(f"commitment {i}")) for i in range(100)]
    people = [accounts[5 + k].address for k in range(3)]
    leaves = [(q, r, p, c) for q, r, c in decisions for p in ["0x" + "00" * 20, *people]]
    routing = StandardMerkleTree.of(leaves, ROUTING_LEAF_ENCODING)
    record(
        "routing_anchor_per_decision_n100",
        ledger.anchorRoutingBatch(brand, routing.root, len(leaves), digest("routing manifest"), {"from": oracle}),
        per=len(decisions),
    )

    record("reputation_root", roots.publishRoot(1, rep.root, digest("reputation manifest 1"), {"from": admin}))
    gas["verify_reputation_proof"] = roots.verifyScore.estimate_gas(1, *rep.values[0], rep.proof(0))

    # Questions in batches: 100 questions posted in one transaction, answered in a batch of 1,000
    # answers (10 per question), each acceptance proving both the question and the answer. The
    # 100 questions share one word of settled bits: the first acceptance creates it, later ones
    # update it. Every advocate paid here is paid for the first time (a new earnings slot, as in
    # `accept_and_release`), and the proofs are the deepest of each tree (7 and 10 hashes).
    bounty = 10**18
    qvalues = [
        (question_id(brand, source, f"QB-{i}"), i, topic, bounty, digest(f"question QB-{i}")) for i in range(100)
    ]
    qtree = StandardMerkleTree.of(qvalues, QUESTION_LEAF_ENCODING)
    record(
        "post_question_batched_per_question_n100",
        ledger.postQuestionBatch(
            brand, qtree.root, 100, 100 * bounty, deadline, digest("question manifest"), {"from": oracle}
        ),
        per=100,
    )
    answers = [
        (qvalues[j % 100][0], to_checksum_address(keccak(text=f"batched advocate {j}")[-20:]), digest(f"answer {j}"))
        for j in range(1000)
    ]
    atree = StandardMerkleTree.of(answers, ANSWER_LEAF_ENCODING)
    ledger.anchorAnswerBatch(brand, atree.root, 1000, digest("answers to batched questions"), {"from": oracle})

    def question_ref(i):
        qid, index, q_topic, q_bounty, content = qvalues[i]
        return (brand, qtree.root, index, qid, q_topic, q_bounty, content, qtree.proof(i))

    def answer_ref(i):
        """An answer to question `i` proven by the deepest proof of the tree."""
        j = next(j for j in range(i, 1000, 100) if len(atree.proof(j)) == max_depth(atree, 1000))
        return (*atree.values[j], atree.root, atree.proof(j))

    deepest = [i for i in range(100) if len(qtree.proof(i)) == max_depth(qtree, 100)]
    first, later, opened = deepest[:3]
    record(
        "accept_batched_question_first_in_word",
        ledger.acceptBatchedAnswer(question_ref(first), answer_ref(first), {"from": oracle}),
    )
    record(
        "accept_batched_question", ledger.acceptBatchedAnswer(question_ref(later), answer_ref(later), {"from": oracle})
    )
    # The same acceptances, many in one transaction (`acceptBatchedAnswers`), per acceptance: the
    # next deepest questions of the batch, in the word the first acceptance created, each paying
    # an advocate for the first time. After the first, the storage each one reads is warm.
    rest = iter(deepest[3:])
    for n in ACCEPTANCE_BATCH_SIZES:
        acceptances = [(question_ref(i), answer_ref(i), []) for i in itertools.islice(rest, n)]
        assert len(acceptances) == n, "not enough questions with the deepest proof left in the batch"
        record(
            f"accept_batched_questions_per_acceptance_n{n}",
            ledger.acceptBatchedAnswers(acceptances, {"from": oracle}),
            per=n,
        )
    record(
        "open_batched_question",
        ledger.openBatchedQuestion(question_ref(opened), source, f"QB-{opened}", {"from": advocate}),
    )
    # After the deadline, anyone returns the 37 unsettled bounties to the pool.
    chain.sleep(deadline - chain.time() + 1)
    chain.mine()
    record("release_question_batch", ledger.releaseQuestionBatch(brand, qtree.root, {"from": advocate}))

    gas["max_transaction"] = max_tx

    print(f"{'operation':34} {'gas':>10}  target")
    for name, used in gas.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target:,} {'ok' if used <= target else 'MISSED'}"
        print(f"{name:34} {used:>10,}  {verdict}")
    print(f"per-transaction cap {TX_GAS_CAP:,}: {'ok' if max_tx <= TX_GAS_CAP else 'EXCEEDED'}")
    network.disconnect()  # stops the chain now, so that the JSON below is the very last line
    print(json.dumps(gas, sort_keys=True), flush=True)
