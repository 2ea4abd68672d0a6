"""Stateful property test: the ledger conserves tokens, keeps every brand's pool to itself and
pays nothing twice.

Hypothesis drives random sequences of deposits, questions, direct and batched answers, ratings,
acceptances (whole and split across a swarm), time jumps, expiries and withdrawals (pulled by the
advocate, or signed by it and relayed by anyone) across four brands: brands 1 and 2 share token A,
brands 3 and 4 share token B (brand 4 also shares brand 1's admin), so a bounty taken from the
wrong pool, or credited in the wrong token, shows up as a pool, earnings or balance mismatch. A
Python model predicts the outcome of every transaction, including the exact custom error of the
invalid ones the rules also send (accepting twice, accepting an expired question, another brand's
oracle, a batch of another brand, a cut proof, an answer that was never recorded, withdrawing more
than is available, withdrawing earnings twice, a swarm naming a member twice or the ledger itself,
a brand registered by anyone but the registrar, a signed withdrawal expired, replayed, signed by
someone else or redirected by its relayer, ...). Advocates also sign answers and withdrawals for
anyone to relay; both use the advocate's one nonce counter, which the model predicts too. Brands
also anchor copies of other brands' roots, which must neither fail nor change the owner's batch.
Brands also post questions in Merkle batches, some of them lying (leaves adding up to more than the
total escrowed, more leaves than declared, a ticket already posted, a copy of another brand's
batch); batched questions are accepted by proof (valid, or tampered: another bounty or index, a cut
proof, another brand's root, an answer to another question, a question already settled), one at a
time or several in one call (all or nothing: a question twice, another brand's among them), opened
into stored questions that the other rules then answer, rate, accept and expire, and batches are
released after their deadline. No batch pays, opens and refunds more than it escrowed.
After every step the invariants compare the whole contract state with the model, read in one
batched JSON-RPC round trip: so a reverted transaction is also checked to have changed nothing.
"""

import importlib.util
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from brownie import web3
from brownie.exceptions import VirtualMachineError, decode_typed_error
from conftest import TOPIC, ZENDESK, digest
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING, QUESTION_LEAF_ENCODING, answer_id, question_id
from peercare.core.merkle import StandardMerkleTree, verify
from peercare.core.typed_data import (
    answer_typed_data,
    recover_signer,
    sign_answer,
    sign_withdrawal,
    withdrawal_typed_data,
)

# About 2,000 steps and 1,950 transactions: 90 to 110 seconds on two cores, other tests running.
# Hypothesis spends its first ten examples on deliberately short runs, so fewer examples cover
# much less. No target phase: with an example database (Brownie keeps one) it re-runs whole
# passing sequences to shrink a "Pareto front" of them, which doubled the time for no new case.
SETTINGS = {
    "max_examples": 50,
    "stateful_step_count": 50,
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
}
#: Enough for any call here; a fixed limit spares Brownie a gas estimate per transaction.
GAS_LIMIT = 1_000_000

ZERO32 = b"\0" * 32
ZERO_ADDRESS = "0x" + "00" * 20
HOUR = 3600
# Deadlines are `post time + whole hours + 10 minutes` and the clock only jumps by half hours (plus
# the seconds the transactions of one example take), so "now" is never within minutes of a
# deadline and whether a call is past it never depends on the exact timestamp of its block.
DEADLINE_OFFSET = 600
TIME_STEP = 1800
TIMING_MARGIN = 120
MINTED = 10**30
INITIAL_DEPOSIT = 5_000
BPS = 10_000
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

OPEN, ACCEPTED, EXPIRED = 1, 2, 3

index = st.integers(min_value=0, max_value=2**16)
content = st.integers(min_value=0, max_value=2)


def mostly(usual, *others, weight=6):
    """`usual` most of the time, sometimes one of `others` (an invalid variant, a wider pick)."""
    return st.sampled_from([usual] * weight + list(others))


#: The brand's own oracle, or sometimes another brand's oracle, which must be refused.
oracle_choice = mostly("own", "other")
#: Mostly the answer as recorded; sometimes another digest, a cut proof, a batch that was never
#: anchored, or a question that was never posted.
tampering = mostly("none", "digest", "proof", "root", "question", weight=10)


def mine(seconds):
    """Move the node's clock on by `seconds`, mine a block and return its timestamp. Straight to
    the node: `chain.sleep` and `chain.mine` cost Brownie 1.22 two `inspect.stack()` walks each
    (its "do not call rpc directly" check), a quarter of a second per call under Hypothesis. The
    node's snapshots include its clock, so reverting between examples still rewinds it."""
    if seconds:
        web3.provider.make_request("evm_increaseTime", [seconds])
    web3.provider.make_request("evm_mine", [])
    return web3.eth.get_block("latest")["timestamp"]


@dataclass
class Brand:
    id: int
    token: int  # index into `tokens`
    admin: object
    oracle: object


@dataclass
class Question:
    brand: int  # index into `brands`
    ticket: str
    deadline: int
    bounty: int
    status: int = OPEN


@dataclass(frozen=True)
class Answer:
    """An AnswerRef: direct when `root` is zero, else a leaf of that batch with its proof."""

    question: bytes
    advocate: str
    digest: bytes
    root: bytes = ZERO32
    proof: tuple[bytes, ...] = field(default=())

    def ref(self):
        return (self.question, self.advocate, self.digest, self.root, list(self.proof))

    @property
    def id(self):
        return answer_id(self.question, self.advocate, self.digest)


@dataclass
class QuestionBatch:
    """A posted batch of questions: its leaves `(questionId, index, topic, bounty, contentDigest)`
    (the tree) with each leaf's ticket (from the manifest), and what the ledger should hold for it."""

    brand: int  # index into `brands` of the brand that posted it
    tree: StandardMerkleTree
    tickets: tuple[str, ...]  # per leaf; a copy keeps the tickets of the brand it copied
    size: int  # declared
    total: int  # escrowed at posting
    deadline: int
    escrowed: int
    released: bool = False
    settled: set = field(default_factory=set)  # indices accepted or opened
    paid: int = 0  # released to acceptances
    opened: int = 0  # moved to opened questions' own escrow
    refunded: int = 0  # returned to the pool at release

    @property
    def root(self):
        return self.tree.root


class Conservation:
    """Rules, model and invariants. Brownie calls `__init__` once, as a class method on the
    machine class it generates, then snapshots the chain: every example starts from there."""

    def __init__(cls, ledger, tokens, accounts):
        cls.ledger = ledger
        cls.tokens = tokens
        cls.accounts = list(accounts)
        a = cls.accounts
        cls.chain_id = web3.eth.chain_id
        # Every brand has its own oracle, so "another brand's oracle" is never this brand's.
        cls.brands = []
        cls.registrar = a[0]  # holds BRAND_REGISTRAR_ROLE (the `ledger` fixture, like scripts/deploy.py)
        cls.registrar_role = keccak(text="BRAND_REGISTRAR_ROLE")
        assert ledger.BRAND_REGISTRAR_ROLE() == "0x" + cls.registrar_role.hex()
        for token_index, admin, oracle in ((0, a[3], a[2]), (0, a[7], a[8]), (1, a[9], a[6]), (1, a[3], a[1])):
            brand_id = ledger.brandCount() + 1
            ledger.registerBrand(admin, tokens[token_index], [oracle], {"from": cls.registrar})
            assert ledger.brand(brand_id) == (admin, tokens[token_index])
            cls.brands.append(Brand(brand_id, token_index, admin, oracle))
        # Advocates answer and earn (a[7] is also brand 2's admin); a[5] also funds pools.
        cls.advocates = [a[4], a[5], a[0], a[7]]
        # Their keys, to sign answers and withdrawals: Brownie starts anvil with its default mnemonic.
        Account.enable_unaudited_hdwallet_features()
        cls.keys = {}
        for i in (4, 5, 0, 7):
            key = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key
            assert Account.from_key(key).address == a[i].address, "the test chain's accounts are not anvil's defaults"
            cls.keys[a[i].address] = key
        cls.impostor = Account.from_key(keccak(text="PeerCare stateful impostor"))  # signs, never sends
        for token in tokens:
            for depositor in {b.admin for b in cls.brands} | {a[5]}:
                token.mint(depositor, MINTED, {"from": a[0]})
                token.approve(ledger, 2**256 - 1, {"from": depositor})
        cls.initial_deposit = {}
        for b in cls.brands:
            cls.initial_deposit[b.id] = INITIAL_DEPOSIT * (1 + b.id)
            ledger.deposit(b.id, cls.initial_deposit[b.id], {"from": b.admin})
        cls.start_balances = {
            (account.address, ti): token.balanceOf(account) for ti, token in enumerate(tokens) for account in a
        }
        # Errors by name, to predict the exact revert message Brownie decodes.
        cls.errors = {}
        for item in ledger.abi:
            if item["type"] == "error":
                types = [i["type"] for i in item["inputs"]]
                cls.errors[item["name"]] = (keccak(text=f"{item['name']}({','.join(types)})")[:4], types)
        cls.selectors = {name: bytes.fromhex(selector[2:]) for name, selector in ledger.signatures.items()}
        cls.balance_of = bytes.fromhex(tokens[0].signatures["balanceOf"][2:])

    # ------------------------------------------------------------ per example

    def setup(self):
        self.now = mine(0)
        self.available = {b.id: self.initial_deposit[b.id] for b in self.brands}
        self.escrowed = {b.id: 0 for b in self.brands}
        self.deposited = dict(self.initial_deposit)
        self.pool_withdrawn = {b.id: 0 for b in self.brands}
        self.questions = {}  # question id -> Question
        self.order = []  # question ids, in posting order
        self.direct = set()  # ids of the directly recorded answers
        self.answers = []  # every recorded Answer, direct and batched (batched ones may not count)
        self.batches = {}  # (index of the brand that anchored it, root) -> declared size
        self.brand_count = len(self.brands)  # brands on the ledger, with those admitted by the rules
        self.ratings = set()  # (answer id, rater kind, rater id)
        self.earnings = defaultdict(int)  # (account, token index) -> unclaimed
        self.credited = [0] * len(self.tokens)  # per token, all ever credited to earnings
        self.earnings_withdrawn = [0] * len(self.tokens)
        self.balances = dict(self.start_balances)  # (account, token index) -> token balance
        self.nonces = defaultdict(int)  # account -> ledger nonce (signed answers and withdrawals)
        self.tickets = 0
        self.salt = 0
        self._calldata = {}  # Answer -> isAnswerRecorded calldata
        self._counted = {}  # Answer -> whether it counts for its question's brand
        self._trees = {}  # (brand index, root) -> the anchored tree, for copies by other brands
        self.question_batches = {}  # (brand index, root) -> QuestionBatch
        self.batched_answers = []  # Answers, anchored in answer batches, to batched questions not opened

    # ------------------------------------------------------------ helpers

    def _send(self, expected, fn, *args, sender):
        """Send a transaction. `expected` is None (it must succeed) or (error, args): it must
        revert with exactly that error, or with that error and any arguments if args is None."""
        if expected is None:
            return fn(*args, {"from": sender, "gas_limit": GAS_LIMIT})
        try:
            fn(*args, {"from": sender, "gas_limit": GAS_LIMIT})
        except VirtualMachineError as exc:
            name, error_args = expected
            if error_args is None:
                assert exc.revert_msg.startswith(f"{name}:"), (exc.revert_msg, expected)
            else:
                selector, types = self.errors[name]
                wanted = decode_typed_error("0x" + (selector + encode(types, list(error_args))).hex())
                assert exc.revert_msg == wanted, (exc.revert_msg, wanted)
            return None
        raise AssertionError(f"{fn._name}{args} succeeded; expected it to revert with {expected}")

    def _past(self, deadline):
        """Whether the next block is past `deadline` (`block.timestamp > deadline`)."""
        assert abs(self.now - deadline) > TIMING_MARGIN, "test design: a deadline is too close to now"
        return self.now > deadline

    def _live(self, qid):
        question = self.questions.get(qid)
        return question is not None and question.status == OPEN and not self._past(question.deadline)

    @staticmethod
    def _pick(items, i):
        return items[i % len(items)]

    def _question(self, i, which="any", brand_index=None):
        """A posted question: a live one (open, before its deadline) of `brand_index` or any
        brand when `which` asks for it and there is one, else any question."""
        if which != "any":
            live = [qid for qid in self.order if self._live(qid) and brand_index in (None, self.questions[qid].brand)]
            if live:
                qid = self._pick(live, i)
                return qid, self.questions[qid]
        qid = self._pick(self.order, i)
        return qid, self.questions[qid]

    def _oracle(self, brand_index, choice, i):
        if choice == "own":
            return self.brands[brand_index].oracle
        return self._pick([b.oracle for j, b in enumerate(self.brands) if j != brand_index], i)

    def _fresh_digest(self):
        self.salt += 1
        return digest(f"never recorded {self.salt}")

    def _answer_error(self, answer, brand_index):
        """`_requireAnswer`: None if the answer counts for the brand, else the expected error."""
        aid = answer.id
        if answer.root == ZERO32:
            return None if aid in self.direct else ("UnknownAnswer", (aid,))
        if (brand_index, answer.root) not in self.batches:  # a batch only counts under its own brand
            return ("UnknownBatch", (self.brands[brand_index].id, answer.root))
        if answer.advocate == ZERO_ADDRESS:
            return ("ZeroAdvocate", (aid,))
        if not verify(
            answer.root, ANSWER_LEAF_ENCODING, (answer.question, answer.advocate, answer.digest), answer.proof
        ):
            return ("InvalidAnswerProof", (aid, answer.root))
        return None

    def _counts(self, answer):
        """Whether a recorded answer counts for its question's brand. That only changes when its
        question's brand anchors its root, so it is worked out (Merkle proof and all) once per root
        anchored."""
        if answer not in self._counted:
            question = self.questions.get(answer.question)
            self._counted[answer] = question is not None and self._answer_error(answer, question.brand) is None
        return self._counted[answer]

    def _answer(self, i, which):
        """A recorded answer: when `which` asks for it and there is one, one that counts for its
        question's brand."""
        candidates = [x for x in self.answers if self._counts(x)] if which == "counted" else []
        return self._pick(candidates or self.answers, i)

    # ------------------------------------------------------------ pools

    @rule(b=index, amount=st.integers(min_value=1, max_value=6_000), who=index, fault=mostly("ok", "zero"))
    def rule_deposit(self, b, amount, who, fault):
        brand = self._pick(self.brands, b)
        depositor = self._pick([brand.admin, self.accounts[5]], who)
        if fault == "zero":
            amount, expected = 0, ("ZeroAmount", ())
        else:
            expected = None
        tx = self._send(expected, self.ledger.deposit, brand.id, amount, sender=depositor)
        if tx is not None:
            assert tx.events["PoolDeposited"]["amount"] == amount
            self.available[brand.id] += amount
            self.deposited[brand.id] += amount
            self.balances[depositor.address, brand.token] -= amount

    @rule(
        b=index,
        tenths=st.integers(min_value=1, max_value=5),
        to=index,
        fault=mostly("ok", "more", "zero", "to_zero", "not_admin"),
    )
    def rule_withdraw_from_pool(self, b, tenths, to, fault):
        """The admin takes up to half of what is available; more than available, zero, to the
        zero address or by anyone else must be refused."""
        bi = b % len(self.brands)
        brand = self.brands[bi]
        available = self.available[brand.id]
        amount = {"more": available + tenths, "zero": 0}.get(fault, max(1, available * tenths // 10))
        sender = self._oracle(bi, "other", to) if fault == "not_admin" else brand.admin
        recipient = ZERO_ADDRESS if fault == "to_zero" else self._pick(self.accounts, to).address
        if sender != brand.admin:
            expected = ("NotBrandAdmin", (brand.id, sender.address))
        elif recipient == ZERO_ADDRESS:
            expected = ("ZeroAddress", ())
        elif amount == 0:
            expected = ("ZeroAmount", ())
        elif amount > available:
            expected = ("InsufficientPoolBalance", (brand.id, available, amount))
        else:
            expected = None
        tx = self._send(expected, self.ledger.withdrawFromPool, brand.id, amount, recipient, sender=sender)
        if tx is not None:
            assert tx.events["PoolWithdrawn"]["amount"] == amount
            self.available[brand.id] -= amount
            self.pool_withdrawn[brand.id] += amount
            self.balances[recipient, brand.token] += amount

    @rule(who=index, t=st.integers(min_value=0, max_value=1), admitted=mostly(False, True, weight=4))
    def rule_register_brand(self, who, t, admitted):
        """Only the registrar admits a brand. Anyone else (brand admins, oracles, advocates, an
        unfunded stranger) naming itself admin and oracle of a new brand is refused."""
        others = [account for account in self.accounts if account != self.registrar]
        sender = self.registrar if admitted else self._pick(others, who)
        if sender == self.registrar:
            expected = None
        else:
            expected = ("AccessControlUnauthorizedAccount", (sender.address, self.registrar_role))
        token = self.tokens[t]
        tx = self._send(expected, self.ledger.registerBrand, sender.address, token, [sender.address], sender=sender)
        if tx is not None:
            self.brand_count += 1
            assert tx.events["BrandRegistered"]["brandId"] == self.brand_count

    # ------------------------------------------------------------ questions

    @rule(
        b=index,
        bounty=st.integers(min_value=0, max_value=4_000),
        hours=st.integers(min_value=0, max_value=24),
        pick=index,
        fault=mostly("ok", "other_oracle", "past", "repost", "too_big", weight=12),
    )
    def rule_post_question(self, b, bounty, hours, pick, fault):
        bi = b % len(self.brands)
        if fault == "repost" and self.order:
            _, posted = self._question(pick)
            bi, ticket = posted.brand, posted.ticket
        else:
            self.tickets += 1
            ticket = f"T-{self.tickets}"
        brand = self.brands[bi]
        sender = self._oracle(bi, "other" if fault == "other_oracle" else "own", pick)
        qid = question_id(brand.id, ZENDESK, ticket)
        deadline = self.now - 10 if fault == "past" else self.now + hours * HOUR + DEADLINE_OFFSET
        available = self.available[brand.id]
        if fault == "too_big":
            bounty = available + 1 + bounty
        if sender != brand.oracle:
            expected = ("NotBrandOracle", (brand.id, sender.address))
        elif fault == "past":
            expected = ("DeadlineNotInFuture", None)  # carries the block's timestamp
        elif qid in self.questions:
            expected = ("QuestionAlreadyPosted", (qid,))
        elif bounty > available:
            expected = ("InsufficientPoolBalance", (brand.id, available, bounty))
        else:
            expected = None
        tx = self._send(
            expected,
            self.ledger.postQuestion,
            brand.id,
            ZENDESK,
            ticket,
            TOPIC,
            bounty,
            deadline,
            digest(f"question {ticket}"),
            sender=sender,
        )
        if tx is not None:
            assert tx.events["QuestionPosted"]["questionId"] == "0x" + qid.hex()
            self.available[brand.id] -= bounty
            self.escrowed[brand.id] += bounty
            self.questions[qid] = Question(bi, ticket, deadline, bounty)
            self.order.append(qid)

    @initialize(
        posts=st.lists(
            st.tuples(index, st.integers(min_value=0, max_value=3_000), st.integers(min_value=0, max_value=24)),
            min_size=1,
            max_size=6,
        )
    )
    def initialize_questions(self, posts):
        """Start with a few questions, so answering, accepting and expiring have work to do in
        every example, even those where Hypothesis switches posting off."""
        for b, bounty, hours in posts:
            self.rule_post_question(b, bounty, hours, b, "ok")

    @initialize(
        batches=st.lists(
            st.tuples(
                index,
                st.lists(st.integers(min_value=0, max_value=1_500), min_size=2, max_size=5),
                st.integers(min_value=0, max_value=24),
            ),
            min_size=3,
            max_size=3,
        )
    )
    def initialize_question_batches(self, batches):
        """Start with an honest batch of questions and two lying ones (an overstated total, more
        leaves than declared), so that every example has batches to accept, open and release."""
        for (b, bounties, hours), fault in zip(batches, ("ok", "overstated", "undersized"), strict=True):
            self.rule_post_question_batch(b, bounties, hours, b, fault)

    @precondition(lambda self: self.order)
    @rule(q=index, who=index, which=mostly("due", "open", "any", weight=4))
    def rule_expire_question(self, q, who, which):
        """Expire a question: mostly an open one past its deadline, if there is one."""
        opened = [x for x in self.order if self.questions[x].status == OPEN]
        due = [x for x in opened if self._past(self.questions[x].deadline)]
        qid = self._pick({"due": due, "open": opened}.get(which) or self.order, q)
        question = self.questions[qid]
        if question.status != OPEN:
            expected = ("QuestionNotOpen", (qid, question.status))
        elif not self._past(question.deadline):
            expected = ("QuestionNotExpired", (qid, question.deadline))
        else:
            expected = None
        tx = self._send(expected, self.ledger.expireQuestion, qid, sender=self._pick(self.accounts, who))
        if tx is not None:
            assert tx.events["QuestionExpired"]["refunded"] == question.bounty
            brand = self.brands[question.brand]
            question.status = EXPIRED
            self.escrowed[brand.id] -= question.bounty
            self.available[brand.id] += question.bounty

    @rule(half_hours=st.integers(min_value=1, max_value=8))
    def rule_time_passes(self, half_hours):
        self.now = mine(half_hours * TIME_STEP)

    # ------------------------------------------------------------ answers

    @precondition(lambda self: self.order)
    @rule(
        q=index,
        adv=index,
        c=content,
        which=mostly("live", "any", weight=4),
        again=mostly(False, True),
        signed=mostly(False, True, weight=2),
    )
    def rule_submit_answer(self, q, adv, c, which, again, signed):
        qid, question = self._question(q, which)
        advocate = self._pick(self.advocates, adv)
        answer = Answer(qid, advocate.address, digest(f"answer {c}"))
        if question.status != OPEN:
            expected = ("QuestionNotOpen", (qid, question.status))
        elif self._past(question.deadline):
            expected = ("QuestionDeadlinePassed", (qid, question.deadline))
        elif answer.id in self.direct:
            expected = ("AnswerAlreadyRecorded", (answer.id,))
        else:
            expected = None
        relayer = self._pick(self.accounts, q) if signed else None
        tx = self._submit(expected, qid, answer.digest, advocate, relayer)
        if tx is None:
            return
        self.direct.add(answer.id)
        self.answers.append(answer)
        if again:
            expected = ("AnswerAlreadyRecorded", (answer.id,))
            self._submit(expected, qid, answer.digest, advocate, relayer)

    def _submit(self, expected, qid, content, advocate, relayer):
        """`submitAnswer` by the advocate, or, given a relayer, the advocate's signed answer relayed
        by it (the nonce is only used if the answer is recorded)."""
        if relayer is None:
            return self._send(expected, self.ledger.submitAnswer, qid, content, sender=advocate)
        nonce, deadline = self.nonces[advocate.address], self.now + HOUR
        typed = answer_typed_data(
            chain_id=self.chain_id,
            ledger=self.ledger.address,
            question_id=qid,
            content_digest=content,
            nonce=nonce,
            deadline=deadline,
        )
        struct = (qid, content, advocate.address, nonce, deadline)
        signature = sign_answer(self.keys[advocate.address], typed)
        tx = self._send(expected, self.ledger.submitAnswerWithSig, struct, signature, sender=relayer)
        if tx is not None:
            self.nonces[advocate.address] += 1
        return tx

    @precondition(lambda self: self.order)
    @rule(
        b=index,
        leaves=st.lists(st.tuples(index, index, content, mostly("own", "any", weight=3)), min_size=1, max_size=4),
        fault=mostly("ok", "other_oracle", "empty", "again", "copy", "nobody", weight=8),
    )
    def rule_anchor_answer_batch(self, b, leaves, fault):
        """Anchor a batch for a brand. Most leaves answer the brand's own live questions; some
        answer other brands' questions, and must never count for them; some name no advocate
        (`nobody`), and never count. A `copy` anchors the tree of another brand's batch: the
        copy must go through (a root is no one's to occupy) and count for nothing of the owner's."""
        bi = b % len(self.brands)
        brand = self.brands[bi]
        sender = self._oracle(bi, "other" if fault == "other_oracle" else "own", b)
        values = []
        foreign = [tree for (owner, _), tree in self._trees.items() if owner != bi]
        if fault == "copy" and foreign:
            values = list(self._pick(foreign, b).values)
        for q, adv, c, which in [] if values else leaves:
            qid, _ = self._question(q, which, brand_index=bi)
            value = (qid, self._pick(self.advocates, adv).address, digest(f"answer {c}"))
            if value not in values:
                values.append(value)
        if fault == "nobody":
            values.append((values[0][0], ZERO_ADDRESS, digest("nobody's answer")))
        tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
        root = ZERO32 if fault == "empty" else tree.root
        if sender != brand.oracle:
            expected = ("NotBrandOracle", (brand.id, sender.address))
        elif fault == "empty":
            expected = ("EmptyBatch", ())
        elif (bi, root) in self.batches:
            expected = ("BatchAlreadyAnchored", (brand.id, root))
        else:
            expected = None
        manifest = digest(f"manifest {root.hex()}")
        tx = self._send(expected, self.ledger.anchorAnswerBatch, brand.id, root, len(values), manifest, sender=sender)
        if tx is None:
            return
        self.batches[bi, root] = len(values)
        self._trees[bi, root] = tree
        # A leaf under this root that did not count may now: its question's brand anchored the root
        # after another brand did (anchoring first occupies a root for no one else).
        self._counted = {answer: counts for answer, counts in self._counted.items() if answer.root != root}
        for i, value in enumerate(tree.values):
            self.answers.append(Answer(*value, root=root, proof=tuple(tree.proof(i))))
        if fault == "again":
            expected = ("BatchAlreadyAnchored", (brand.id, root))
            self._send(expected, self.ledger.anchorAnswerBatch, brand.id, root, 1, manifest, sender=sender)

    # ------------------------------------------------------------ ratings

    @precondition(lambda self: self.answers)
    @rule(
        a=index,
        rating=st.integers(min_value=1, max_value=5),
        kind=st.integers(min_value=0, max_value=2),
        rater=st.integers(min_value=0, max_value=1),
        which=mostly("counted", "any", weight=3),
        fault=mostly("ok", "rating", "other_oracle", "again", "digest"),
    )
    def rule_rate_answer(self, a, rating, kind, rater, which, fault):
        answer = self._answer(a, which)
        if fault == "digest":
            answer = Answer(answer.question, answer.advocate, self._fresh_digest(), answer.root, answer.proof)
        if fault == "rating":
            rating = self._pick([0, 6, 255], a)
        bi = self.questions[answer.question].brand
        sender = self._oracle(bi, "other" if fault == "other_oracle" else "own", a)
        rater_id = digest(f"rater {rater}")
        key = (answer.id, kind, rater_id)
        if not 1 <= rating <= 5:
            expected = ("InvalidRating", (rating,))
        elif sender != self.brands[bi].oracle:
            expected = ("NotBrandOracle", (self.brands[bi].id, sender.address))
        elif (error := self._answer_error(answer, bi)) is not None:
            expected = error
        elif key in self.ratings:
            expected = ("AlreadyRated", key)
        else:
            expected = None
        tx = self._send(expected, self.ledger.rateAnswer, answer.ref(), rating, kind, rater_id, sender=sender)
        if tx is None:
            return
        self.ratings.add(key)
        if fault == "again":
            self._send(("AlreadyRated", key), self.ledger.rateAnswer, answer.ref(), 1, kind, rater_id, sender=sender)

    # ------------------------------------------------------------ acceptance

    @precondition(lambda self: self._acceptable())
    @rule(a=index, who=oracle_choice, tamper=tampering, again=st.booleans())
    def rule_accept_answer(self, a, who, tamper, again):
        """Accept an answer: its advocate is credited the whole bounty."""
        self._accept_answer(self._pick(self._acceptable(), a), a, who, tamper, None, "ok", again)

    @precondition(lambda self: self._acceptable())
    @rule(
        a=index,
        who=oracle_choice,
        tamper=tampering,
        shares=st.lists(st.tuples(index, st.integers(min_value=1, max_value=50)), min_size=1, max_size=4),
        shares_fault=mostly("ok", "short", "zero", "empty", "duplicate", "ledger", weight=10),
        again=st.booleans(),
    )
    def rule_accept_answer_with_swarm(self, a, who, tamper, shares, shares_fault, again):
        """Accept an answer and split the bounty by basis points; malformed shares are refused."""
        answer = self._pick(self._acceptable(), a)
        self._accept_answer(answer, a, who, tamper, shares, shares_fault, again)

    @precondition(lambda self: self._closed())
    @rule(a=index, swarm=st.booleans())
    def rule_accept_closed_question(self, a, swarm):
        """Accepting an answer to a question already accepted, expired, or past its deadline is
        refused, whole or as a swarm."""
        self._accept_answer(self._pick(self._closed(), a), a, "own", "none", [(a, 1)] if swarm else None, "ok", False)

    def _acceptable(self):
        """Recorded answers their questions can still accept."""
        return [x for x in self.answers if self._live(x.question) and self._counts(x)]

    def _closed(self):
        """Recorded answers to questions that can no longer accept any."""
        return [x for x in self.answers if self._counts(x) and not self._live(x.question)]

    def _accept_answer(self, answer, a, who, tamper, shares, shares_fault, again):
        """The reference may be tampered with: that must be refused before anything moves."""
        if tamper == "digest":  # not what was recorded
            answer = Answer(answer.question, answer.advocate, self._fresh_digest(), answer.root, answer.proof)
        elif tamper == "proof":  # a direct answer claimed in some batch, or a batch proof cut short
            root = answer.root if answer.root != ZERO32 else next(iter(self.batches), (0, keccak(b"no batch")))[1]
            answer = Answer(answer.question, answer.advocate, answer.digest, root, answer.proof[1:])
        elif tamper == "root":  # a batch that was never anchored
            answer = Answer(answer.question, answer.advocate, answer.digest, keccak(b"unanchored"), answer.proof)
        elif tamper == "question":  # a question that was never posted
            answer = Answer(keccak(b"never posted"), answer.advocate, answer.digest)
        share_list = None if shares is None else self._shares(shares, shares_fault)
        question = self.questions.get(answer.question)
        brand_index = a % len(self.brands) if question is None else question.brand
        sender = self._oracle(brand_index, who, a)
        expected = self._accept_error(answer, share_list, sender)
        tx = self._accept(expected, answer, share_list, sender)
        if tx is None:
            return
        question.status = ACCEPTED
        self._paid(tx, question.brand, answer, share_list, question.bounty)
        if again:
            # Nothing is paid twice: accepting the question again, through any answer that counts
            # for it, whole or as a swarm, is refused.
            others = [x for x in self.answers if x.question == answer.question and self._counts(x)]
            other = self._pick(others, a + 1)
            expected = ("QuestionNotOpen", (answer.question, ACCEPTED))
            self._accept(expected, other, None if a % 2 else self._shares([(a, 1)], "ok"), sender)

    def _paid(self, tx, brand_index, answer, share_list, bounty):
        """An acceptance went through: `_credit`, and its events say so."""
        self._credit(brand_index, answer, share_list, bounty)
        brand = self.brands[brand_index]
        accepted = tx.events["AnswerAccepted"]
        assert len(accepted) == 1
        assert accepted[0]["questionId"] == "0x" + answer.question.hex()
        assert accepted[0]["answerId"] == "0x" + answer.id.hex() and accepted[0]["bounty"] == bounty
        if bounty:  # credited in the brand's token, in full; nothing credited for a zero bounty
            rewards = tx.events["RewardCredited"]
            assert sum(r["amount"] for r in rewards) == bounty
            assert all(r["token"] == self.tokens[brand.token].address for r in rewards)
        else:
            assert "RewardCredited" not in tx.events

    def _credit(self, brand_index, answer, share_list, bounty):
        """The bounty leaves the pool's escrow for the earnings of the answer's advocate (or the
        swarm, floored, the rest to the advocate), in the brand's token."""
        brand = self.brands[brand_index]
        self.escrowed[brand.id] -= bounty
        credited = defaultdict(int)
        paid = 0
        for account, bps in share_list or []:
            credited[account] += bounty * bps // BPS
            paid += bounty * bps // BPS
        credited[answer.advocate] += bounty - paid
        for account, amount in credited.items():
            self.earnings[account, brand.token] += amount
            self.credited[brand.token] += amount

    def _shares(self, shares, fault):
        """Basis points proportional to the weights, one entry per member, summing to exactly
        10,000 unless `fault`: a share short, the zero address, none at all, a member named twice,
        or the ledger itself as a member."""
        weights = {}
        for i, w in shares:
            account = self._pick(self.advocates, i).address
            weights[account] = weights.get(account, 0) + w
        total_weight = sum(weights.values())
        share_list = [[account, w * BPS // total_weight] for account, w in weights.items()]
        share_list[0][1] += BPS - sum(bps for _, bps in share_list)
        if fault == "short":
            share_list[-1][1] -= 1
        elif fault == "zero":
            share_list[-1][0] = ZERO_ADDRESS
        elif fault == "empty":
            share_list = []
        elif fault == "duplicate":
            share_list.append([share_list[0][0], 0])
        elif fault == "ledger":
            share_list[-1][0] = self.ledger.address
        return [tuple(s) for s in share_list]

    def _accept_error(self, answer, share_list, sender):
        """The error `acceptAnswer(WithSwarm)` must raise, in the contract's order of checks."""
        if (error := self._shares_error(share_list)) is not None:
            return error
        question = self.questions.get(answer.question)
        if question is None:
            return ("UnknownQuestion", (answer.question,))
        if question.status != OPEN:
            return ("QuestionNotOpen", (answer.question, question.status))
        brand = self.brands[question.brand]
        if sender != brand.oracle:
            return ("NotBrandOracle", (brand.id, sender.address))
        if self._past(question.deadline):
            return ("QuestionDeadlinePassed", (answer.question, question.deadline))
        return self._answer_error(answer, question.brand)

    def _shares_error(self, share_list):
        """`SwarmSplit.validate`: None for no swarm or valid shares, else the expected error."""
        if share_list is None:
            return None
        members = set()
        for account, _ in share_list:
            if account == ZERO_ADDRESS:
                return ("ZeroAddress", ())
            if account == self.ledger.address:
                return ("SwarmMemberIsLedger", (account,))
            if account in members:
                return ("DuplicateSwarmMember", (account,))
            members.add(account)
        total = sum(bps for _, bps in share_list)
        if total != BPS:
            return ("InvalidShares", (len(share_list), total))
        return None

    def _accept(self, expected, answer, share_list, sender):
        if share_list is None:
            return self._send(expected, self.ledger.acceptAnswer, answer.ref(), sender=sender)
        return self._send(expected, self.ledger.acceptAnswerWithSwarm, answer.ref(), share_list, sender=sender)

    # ------------------------------------------------------------ questions in batches

    @rule(
        b=index,
        bounties=st.lists(st.integers(min_value=0, max_value=1_500), min_size=1, max_size=5),
        hours=st.integers(min_value=0, max_value=24),
        pick=index,
        fault=mostly(
            "ok",
            "other_oracle",
            "past",
            "empty",
            "zero_size",
            "again",
            "too_big",
            "overstated",
            "undersized",
            "copy",
            "posted_ticket",
            weight=14,
        ),
    )
    def rule_post_question_batch(self, b, bounties, hours, pick, fault):
        """Post a batch of questions. Lying batches go through and can never pay more than their
        total: leaves adding up to more than it (`overstated`), more leaves than declared
        (`undersized`), a ticket already posted on its own (`posted_ticket`), another brand's
        leaves under this brand (`copy`: its tickets hash with the other brand, so it opens none)."""
        bi = b % len(self.brands)
        brand = self.brands[bi]
        sender = self._oracle(bi, "other" if fault == "other_oracle" else "own", pick)
        foreign = [qb for (owner, _), qb in self.question_batches.items() if owner != bi]
        if fault == "copy" and foreign:
            copied = self._pick(foreign, pick)
            values, tickets = list(copied.tree.values), list(copied.tickets)
        else:
            values, tickets = [], []
            own_posted = [self.questions[qid].ticket for qid in self.order if self.questions[qid].brand == bi]
            for i, bounty in enumerate(bounties):
                if fault == "posted_ticket" and i == 0 and own_posted:
                    ticket = self._pick(own_posted, pick)
                else:
                    self.tickets += 1
                    ticket = f"QB-{self.tickets}"
                tickets.append(ticket)
                values.append((question_id(brand.id, ZENDESK, ticket), i, TOPIC, bounty, digest(f"question {ticket}")))
        tree = StandardMerkleTree.of(values, QUESTION_LEAF_ENCODING)
        leaves_total = sum(value[3] for value in values)
        # Overstated: the largest leaf alone is worth more than the total (when it is worth anything).
        total = min(leaves_total // 2, max(bounties) - 1) if fault == "overstated" and max(bounties) else leaves_total
        size = len(values) - 1 if fault == "undersized" and len(values) > 1 else len(values)
        available = self.available[brand.id]
        if fault == "too_big":
            total = available + 1 + total
        root = ZERO32 if fault == "empty" else tree.root
        if fault == "zero_size":
            size = 0
        deadline = self.now - 10 if fault == "past" else self.now + hours * HOUR + DEADLINE_OFFSET
        if sender != brand.oracle:
            expected = ("NotBrandOracle", (brand.id, sender.address))
        elif root == ZERO32 or size == 0:
            expected = ("EmptyBatch", ())
        elif fault == "past":
            expected = ("DeadlineNotInFuture", None)  # carries the block's timestamp
        elif (bi, root) in self.question_batches:
            expected = ("QuestionBatchAlreadyPosted", (brand.id, root))
        elif total > available:
            expected = ("InsufficientPoolBalance", (brand.id, available, total))
        else:
            expected = None
        manifest = digest(f"question manifest {root.hex()}")
        args = (brand.id, root, size, total, deadline, manifest)
        tx = self._send(expected, self.ledger.postQuestionBatch, *args, sender=sender)
        if tx is None:
            return
        assert tx.events["QuestionBatchPosted"]["totalBounty"] == total
        self.available[brand.id] -= total
        self.escrowed[brand.id] += total
        self.question_batches[bi, root] = QuestionBatch(bi, tree, tuple(tickets), size, total, deadline, total)
        if fault == "again":
            expected = ("QuestionBatchAlreadyPosted", (brand.id, root))
            self._send(expected, self.ledger.postQuestionBatch, *args, sender=sender)

    def _batched_leaves(self, which):
        """(batch, index) of every leaf of every batch posted; `which`: "live" ones only (their
        batch before its deadline, not settled, within the declared size), "overdrawn" live ones
        (worth more than their batch still escrows: an overstated manifest), "beyond" the declared
        size (an undersized manifest), "settled" ones only."""
        leaves = [(qb, i) for qb in self.question_batches.values() for i in range(len(qb.tree.values))]
        live = [(qb, i) for qb, i in leaves if not self._past(qb.deadline) and i not in qb.settled and i < qb.size]
        if which == "live":
            return live
        if which == "overdrawn":
            return [(qb, i) for qb, i in live if qb.tree.values[i][3] > qb.escrowed] or live
        if which == "beyond":
            return [(qb, i) for qb, i in leaves if i >= qb.size] or live
        if which == "settled":
            return [(qb, i) for qb, i in leaves if i in qb.settled]
        return leaves

    def _batched_leaf(self, q, which):
        return self._pick(self._batched_leaves(which) or self._batched_leaves("any"), q)

    @staticmethod
    def _question_ref(qb, i, **changes):
        """The QuestionRef of leaf `i` of `qb`, as a dict (fields replaced by `changes`)."""
        qid, index, topic, bounty, content = qb.tree.values[i]
        ref = {"brand": None, "root": qb.root, "index": index, "qid": qid, "topic": topic}
        ref.update(bounty=bounty, content=content, proof=tuple(qb.tree.proof(i)))
        ref.update(changes)
        return ref

    def _batched_question_error(self, ref):
        """`_settleBatchedQuestion`: None if the ref can be settled now, else the expected error."""
        bi = next(j for j, b in enumerate(self.brands) if b.id == ref["brand"])
        qb = self.question_batches.get((bi, ref["root"]))
        if qb is None:
            return ("UnknownQuestionBatch", (ref["brand"], ref["root"]))
        leaf = (ref["qid"], ref["index"], ref["topic"], ref["bounty"], ref["content"])
        if not (ref["index"] < qb.size and verify(qb.root, QUESTION_LEAF_ENCODING, leaf, ref["proof"])):
            return ("InvalidQuestionProof", (ref["qid"], ref["root"]))
        if ref["index"] in qb.settled:
            return ("BatchedQuestionSettled", (ref["qid"], ref["root"], ref["index"]))
        if self._past(qb.deadline):
            return ("QuestionDeadlinePassed", (ref["qid"], qb.deadline))
        if ref["bounty"] > qb.escrowed:
            return ("BatchEscrowExceeded", (ref["brand"], ref["root"], qb.escrowed, ref["bounty"]))
        return None

    @staticmethod
    def _ref_tuple(ref):
        return (ref["brand"], ref["root"], ref["index"], ref["qid"], ref["topic"], ref["bounty"], ref["content"])

    def _settled(self, bi, ref):
        """A batched question was settled: its bit, and its bounty out of its batch's escrow. The
        batch is the one the ref names (a brand's copy of another's root is its own batch)."""
        qb = self.question_batches[bi, ref["root"]]
        qb.settled.add(ref["index"])
        qb.escrowed -= ref["bounty"]
        return qb

    def _answer_to_batched(self, bi, qid, adv, c, fresh):
        """A recorded answer to the batched question `qid` that counts for brand `bi`: one
        anchored before, or (`fresh`, or none yet) one anchored now in a new answer batch of `bi`."""
        known = [x for x in self.batched_answers if x.question == qid and self._answer_error(x, bi) is None]
        if known and not fresh:
            return self._pick(known, c)
        advocate = self._pick(self.advocates, adv).address
        # A second leaf with a fresh digest: the tree's root is new, never anchored before.
        values = [(qid, advocate, digest(f"answer {c}")), (qid, advocate, self._fresh_digest())]
        tree = StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)
        brand = self.brands[bi]
        manifest = digest(f"manifest {tree.root.hex()}")
        self._send(None, self.ledger.anchorAnswerBatch, brand.id, tree.root, 2, manifest, sender=brand.oracle)
        self.batches[bi, tree.root] = 2
        answers = [Answer(*value, root=tree.root, proof=tuple(tree.proof(i))) for i, value in enumerate(tree.values)]
        self.batched_answers.extend(answers)
        return answers[0]

    @precondition(lambda self: self.question_batches)
    @rule(
        q=index,
        adv=index,
        c=content,
        fresh=mostly(False, True, weight=2),
        which=mostly("live", "overdrawn", "beyond", weight=4),
        who=oracle_choice,
        tamper=mostly(
            "none", "bounty", "index", "proof", "other_root", "settled", "answer_other", "unrecorded", weight=10
        ),
        shares=st.one_of(
            st.none(), st.lists(st.tuples(index, st.integers(min_value=1, max_value=50)), min_size=1, max_size=3)
        ),
        shares_fault=mostly("ok", "short", "duplicate", "ledger", weight=12),
        again=st.booleans(),
    )
    def rule_accept_batched_answer(self, q, adv, c, fresh, which, who, tamper, shares, shares_fault, again):
        """Accept an answer to a batched question, whole or as a swarm: the question is proven in
        its batch and settled, and its bounty leaves the batch's escrow. Tampered refs and answers,
        another brand's oracle or root, and settled questions are refused before anything moves."""
        qb, i = self._batched_leaf(q, "settled" if tamper == "settled" else which)
        bi = qb.brand
        brand = self.brands[bi]
        ref = self._question_ref(qb, i, brand=brand.id)
        answer = self._answer_to_batched(bi, ref["qid"], adv, c, fresh)
        if tamper == "bounty":
            ref["bounty"] += 1
        elif tamper == "index":
            ref["index"] = (i + 1) % len(qb.tree.values) if len(qb.tree.values) > 1 else i + 1
        elif tamper == "proof":
            ref["proof"] = ref["proof"][1:]
        elif tamper == "other_root":  # another brand's batch, claimed as this brand's
            others = [root for (owner, root) in self.question_batches if owner != bi]
            ref["root"] = self._pick(others, q) if others else keccak(b"never posted")
        elif tamper == "answer_other":
            answer = Answer(keccak(b"another question"), answer.advocate, answer.digest, answer.root, answer.proof)
        elif tamper == "unrecorded":
            answer = Answer(answer.question, answer.advocate, self._fresh_digest(), answer.root, answer.proof)
        share_list = None if shares is None else self._shares(shares, shares_fault)
        sender = self._oracle(bi, who, q)
        expected = self._batched_acceptance_error(bi, ref, answer, share_list, sender)
        tx = self._accept_batched(expected, ref, answer, share_list, sender)
        if tx is None:
            return
        self._settled(bi, ref).paid += ref["bounty"]
        self._paid(tx, bi, answer, share_list, ref["bounty"])
        if again:  # nothing is paid twice
            expected = ("BatchedQuestionSettled", (ref["qid"], ref["root"], ref["index"]))
            self._accept_batched(expected, ref, answer, None if c % 2 else share_list, sender)

    def _batched_acceptance_error(self, bi, ref, answer, share_list, sender):
        """The error `acceptBatchedAnswer(WithSwarm)` must raise for a question of brand `bi`, in
        the contract's order of checks, or None."""
        brand = self.brands[bi]
        if (error := self._shares_error(share_list)) is not None:
            return error
        if sender != brand.oracle:
            return ("NotBrandOracle", (brand.id, sender.address))
        if answer.question != ref["qid"]:
            return ("AnswerOfAnotherQuestion", (ref["qid"], answer.question))
        return self._answer_error(answer, bi) or self._batched_question_error(ref)

    def _accept_batched(self, expected, ref, answer, share_list, sender):
        question_ref = (*self._ref_tuple(ref), list(ref["proof"]))
        if share_list is None:
            return self._send(expected, self.ledger.acceptBatchedAnswer, question_ref, answer.ref(), sender=sender)
        fn = self.ledger.acceptBatchedAnswerWithSwarm
        return self._send(expected, fn, question_ref, answer.ref(), share_list, sender=sender)

    @precondition(lambda self: self.question_batches)
    @rule(
        picks=st.lists(st.tuples(index, index, content, st.booleans()), min_size=1, max_size=4),
        which=mostly("live", "overdrawn", "any", weight=8),
        who=oracle_choice,
        fault=mostly("none", "repeat", "foreign", "bounty", "shares", "empty", weight=12),
    )
    def rule_accept_batched_answers(self, picks, which, who, fault):
        """Accept answers to several batched questions of one brand in one call
        (`acceptBatchedAnswers`), each whole or split with another advocate: each is checked and
        settled in order as its own `acceptBatchedAnswer(WithSwarm)` would be, and one refused
        (another brand's question or oracle, a question twice, a tampered bounty, bad shares, a
        settled or expired question, a batch's escrow run out) refuses them all. None: refused."""
        seed = picks[0][0]
        bi = self._batched_leaf(seed, "any")[0].brand
        own = [(qb, i) for qb, i in self._batched_leaves(which) if qb.brand == bi]
        own = own or [(qb, i) for qb, i in self._batched_leaves("any") if qb.brand == bi]
        items, chosen = [], set()  # items: (brand index, ref, answer, share list or None)
        for q, adv, c, swarm in picks:  # distinct questions while there are enough
            qb, i = self._pick([(qb, i) for qb, i in own if (qb.root, i) not in chosen] or own, q)
            chosen.add((qb.root, i))
            ref = self._question_ref(qb, i, brand=self.brands[bi].id)
            answer = self._answer_to_batched(bi, ref["qid"], adv, c, fresh=False)
            items.append((bi, ref, answer, self._shares([(adv, 1), (adv + 1, 1)], "ok") if swarm else None))
        foreign = [(qb, i) for qb, i in self._batched_leaves("live") if qb.brand != bi]
        if fault == "empty":
            items = []
        elif fault == "repeat":
            items.append(items[0])
        elif fault == "foreign" and foreign:
            qb, i = self._pick(foreign, seed)
            ref = self._question_ref(qb, i, brand=self.brands[qb.brand].id)
            items.insert(1, (qb.brand, ref, self._answer_to_batched(qb.brand, ref["qid"], seed, 0, False), None))
        elif fault == "bounty":
            items[-1][1]["bounty"] += 1
        elif fault == "shares":
            bad = self._shares([(seed, 1), (seed + 1, 2)], "short" if seed % 2 else "duplicate")
            items[-1] = (*items[-1][:3], bad)
        sender = self._oracle(bi, who, seed)
        # Predicted item by item, each seeing what the ones before it settled; undone after.
        expected, settled = (None, []) if items else (("EmptyBatch", ()), [])
        for item_bi, ref, answer, share_list in items:
            expected = self._batched_acceptance_error(item_bi, ref, answer, share_list, sender)
            if expected is not None:
                break
            settled.append((self._settled(item_bi, ref), ref))
        for qb, ref in settled:
            qb.settled.discard(ref["index"])
            qb.escrowed += ref["bounty"]
        acceptances = [
            ((*self._ref_tuple(ref), list(ref["proof"])), answer.ref(), share_list or [])
            for _, ref, answer, share_list in items
        ]
        tx = self._send(expected, self.ledger.acceptBatchedAnswers, acceptances, sender=sender)
        if tx is None:
            return
        predicted = []
        for item_bi, ref, answer, share_list in items:
            self._settled(item_bi, ref).paid += ref["bounty"]
            self._credit(item_bi, answer, share_list, ref["bounty"])
            predicted += self._batched_acceptance_events(item_bi, ref, answer, share_list)
        assert [(event.name, dict(zip(event.keys(), event.values(), strict=True))) for event in tx.events] == predicted

    def _batched_acceptance_events(self, bi, ref, answer, share_list):
        """The events of one batched acceptance, in the contract's order: the batch's, the
        acceptance, then a credit per share and for the advocate's remainder, none of zero."""
        brand, bounty, qid = self.brands[bi], ref["bounty"], "0x" + ref["qid"].hex()
        amounts = [(account, bounty * bps // BPS) for account, bps in share_list or []]
        amounts.append((answer.advocate, bounty - sum(amount for _, amount in amounts)))
        batch = {"questionId": qid, "brandId": brand.id, "batchRoot": "0x" + ref["root"].hex(), "index": ref["index"]}
        accepted = {
            "questionId": qid,
            "answerId": "0x" + answer.id.hex(),
            "advocate": answer.advocate,
            "bounty": bounty,
        }
        token = self.tokens[brand.token].address
        return [("BatchedQuestionAccepted", batch), ("AnswerAccepted", accepted)] + [
            ("RewardCredited", {"account": account, "token": token, "questionId": qid, "amount": amount})
            for account, amount in amounts
            if amount
        ]

    @precondition(lambda self: self.question_batches)
    @rule(
        q=index,
        who=index,
        which=mostly("live", "overdrawn", "beyond", "any", weight=5),
        fault=mostly("ok", "ticket", "bounty", "again", weight=8),
    )
    def rule_open_batched_question(self, q, who, which, fault):
        """Anyone opens a batched question into a stored one, which the other rules then answer,
        rate, accept and expire; its bounty moves from the batch's escrow to the question's."""
        qb, i = self._batched_leaf(q, which)
        bi = qb.brand
        brand = self.brands[bi]
        ref = self._question_ref(qb, i, brand=brand.id)
        ticket = qb.tickets[i]
        if fault == "ticket":  # another ticket of the manifest, or one never posted
            ticket = qb.tickets[(i + 1) % len(qb.tickets)] if len(qb.tickets) > 1 else "another ticket"
        elif fault == "bounty":
            ref["bounty"] += 1
        ticket_qid = question_id(brand.id, ZENDESK, ticket)
        if ticket_qid != ref["qid"]:
            expected = ("QuestionIdMismatch", (ref["qid"], ticket_qid))
        elif ref["qid"] in self.questions:
            expected = ("QuestionAlreadyPosted", (ref["qid"],))
        else:
            expected = self._batched_question_error(ref)
        question_ref = (*self._ref_tuple(ref), list(ref["proof"]))
        sender = self._pick(self.accounts, who)
        tx = self._send(expected, self.ledger.openBatchedQuestion, question_ref, ZENDESK, ticket, sender=sender)
        if tx is None:
            return
        assert tx.events["BatchedQuestionOpened"]["index"] == ref["index"]
        self._settled(bi, ref).opened += ref["bounty"]
        qid = ref["qid"]
        self.questions[qid] = Question(bi, ticket, qb.deadline, ref["bounty"])
        self.order.append(qid)
        # Its answers anchored so far now answer a stored question: the other rules use them.
        moved = [x for x in self.batched_answers if x.question == qid]
        self.batched_answers = [x for x in self.batched_answers if x.question != qid]
        self.answers.extend(moved)
        for answer in moved:
            self._counted.pop(answer, None)
        if fault == "again":
            self._send(
                ("QuestionAlreadyPosted", (qid,)),
                self.ledger.openBatchedQuestion,
                question_ref,
                ZENDESK,
                ticket,
                sender=sender,
            )

    @precondition(lambda self: self.question_batches)
    @rule(q=index, who=index, which=mostly("due", "any", "unknown", weight=4), again=st.booleans())
    def rule_release_question_batch(self, q, who, which, again):
        """Anyone releases a batch past its deadline, once: its unsettled remainder goes back to
        the pool. Before the deadline, a second time, or a batch never posted: refused."""
        batches = list(self.question_batches.values())
        due = [qb for qb in batches if not qb.released and self._past(qb.deadline)]
        qb = self._pick(due if which == "due" and due else batches, q)
        brand = self.brands[qb.brand]
        root = keccak(b"never posted") if which == "unknown" else qb.root
        sender = self._pick(self.accounts, who)
        if which == "unknown":
            expected = ("UnknownQuestionBatch", (brand.id, root))
        elif qb.released:
            expected = ("QuestionBatchAlreadyReleased", (brand.id, root))
        elif not self._past(qb.deadline):
            expected = ("QuestionBatchNotExpired", (brand.id, root, qb.deadline))
        else:
            expected = None
        tx = self._send(expected, self.ledger.releaseQuestionBatch, brand.id, root, sender=sender)
        if tx is None:
            return
        assert tx.events["QuestionBatchReleased"]["refunded"] == qb.escrowed
        self.escrowed[brand.id] -= qb.escrowed
        self.available[brand.id] += qb.escrowed
        qb.refunded, qb.escrowed, qb.released = qb.escrowed, 0, True
        if again:
            expected = ("QuestionBatchAlreadyReleased", (brand.id, root))
            self._send(expected, self.ledger.releaseQuestionBatch, brand.id, root, sender=sender)

    # ------------------------------------------------------------ earnings

    @precondition(lambda self: any(self.earnings.values()))
    @rule(
        who=index,
        t=st.integers(min_value=0, max_value=1),
        to=index,
        which=mostly("owed", "any", weight=3),
        fault=mostly("ok", "to_zero", weight=8),
        again=st.booleans(),
    )
    def rule_withdraw_earnings(self, who, t, to, which, fault, again):
        owed = [(account, ti) for account in self.advocates for ti in (0, 1) if self.earnings[account.address, ti]]
        account, t = self._pick(owed, who) if which == "owed" and owed else (self._pick(self.advocates, who), t)
        token = self.tokens[t]
        recipient = ZERO_ADDRESS if fault == "to_zero" else self._pick(self.accounts, to).address
        amount = self.earnings[account.address, t]
        if recipient == ZERO_ADDRESS:
            expected = ("ZeroAddress", ())
        elif amount == 0:
            expected = ("NothingToWithdraw", (account.address, token.address))
        else:
            expected = None
        tx = self._send(expected, self.ledger.withdrawEarnings, token, recipient, sender=account)
        if tx is None:
            return
        assert tx.events["EarningsWithdrawn"]["amount"] == amount
        self.earnings[account.address, t] = 0
        self.earnings_withdrawn[t] += amount
        self.balances[recipient, t] += amount
        if again:  # withdrawn once, not twice
            expected = ("NothingToWithdraw", (account.address, token.address))
            self._send(expected, self.ledger.withdrawEarnings, token, recipient, sender=account)

    @precondition(lambda self: any(self.earnings.values()))
    @rule(
        who=index,
        t=st.integers(min_value=0, max_value=1),
        to=index,
        relayer=index,
        which=mostly("owed", "any", weight=3),
        fault=mostly("ok", "to_zero", "expired", "replay", "impostor", "redirect", weight=8),
        again=st.booleans(),
    )
    def rule_withdraw_earnings_signed(self, who, t, to, relayer, which, fault, again):
        """An advocate signs a withdrawal of everything it earned in a token, to a recipient, and
        anyone relays it. Expired, replayed (a nonce already used, by an answer or a withdrawal),
        signed by another key, or redirected by the relayer to itself: refused, nothing moves."""
        owed = [(account, ti) for account in self.advocates for ti in (0, 1) if self.earnings[account.address, ti]]
        account, t = self._pick(owed, who) if which == "owed" and owed else (self._pick(self.advocates, who), t)
        token = self.tokens[t]
        recipient = ZERO_ADDRESS if fault == "to_zero" else self._pick(self.accounts, to).address
        sender = self._pick(self.accounts, relayer)
        deadline = self.now + (-HOUR if fault == "expired" else HOUR)
        current = self.nonces[account.address]
        # A replay: a nonce already used (or, when none is yet, one from the future, refused alike).
        nonce = (current - 1 if current else current + 1) if fault == "replay" else current
        typed = withdrawal_typed_data(
            chain_id=self.chain_id,
            ledger=self.ledger.address,
            account=account.address,
            token=token.address,
            to=recipient,
            nonce=nonce,
            deadline=deadline,
        )
        key = self.impostor.key if fault == "impostor" else self.keys[account.address]
        signature = sign_withdrawal(key, typed)
        paid_to = sender.address if fault == "redirect" else recipient
        struct = (account.address, token.address, paid_to, nonce, deadline)
        amount = self.earnings[account.address, t]
        if fault == "expired":
            expected = ("SignatureExpired", (deadline,))
        elif fault == "impostor":
            expected = ("InvalidWithdrawalSigner", (account.address, self.impostor.address))
        elif paid_to != recipient:
            signed_for = dict(typed, message={**typed["message"], "to": paid_to})
            expected = ("InvalidWithdrawalSigner", (account.address, recover_signer(signed_for, signature)))
        elif nonce != current:
            expected = ("InvalidAccountNonce", (account.address, current))
        elif recipient == ZERO_ADDRESS:
            expected = ("ZeroAddress", ())
        elif amount == 0:
            expected = ("NothingToWithdraw", (account.address, token.address))
        else:
            expected = None
        tx = self._send(expected, self.ledger.withdrawEarningsWithSig, struct, signature, sender=sender)
        if tx is None:
            return
        assert tx.events["EarningsWithdrawn"]["amount"] == amount
        assert tx.events["EarningsWithdrawn"]["to"] == recipient
        self.nonces[account.address] += 1
        self.earnings[account.address, t] = 0
        self.earnings_withdrawn[t] += amount
        self.balances[recipient, t] += amount
        if again:  # the same signature, relayed again: its nonce is spent
            expected = ("InvalidAccountNonce", (account.address, current + 1))
            self._send(expected, self.ledger.withdrawEarningsWithSig, struct, signature, sender=sender)

    # ------------------------------------------------------------ invariants

    def _eth_calls(self, calls):
        """The results of `(address, calldata)` calls, and the latest block, in one JSON-RPC batch."""
        requests = [("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in calls]
        requests.append(("eth_getBlockByNumber", ["latest", False]))
        responses = web3.provider.make_batch_request(requests)
        assert isinstance(responses, list), responses
        for response in responses:
            assert "error" not in response, response
        self.now = int(responses[-1]["result"]["timestamp"], 16)
        return [bytes.fromhex(r["result"][2:]) for r in responses[:-1]]

    @invariant()
    def invariant_contract_matches_model(self):
        """Pools, questions, earnings, every token balance, recorded answers and ratings are what
        the model says, and the tokens add up: nothing created, lost, or moved between tokens."""
        ledger, sel = self.ledger.address, self.selectors
        calls = [(ledger, sel["brandCount"])]
        calls += [(ledger, sel["pool"] + encode(["uint64"], [b.id])) for b in self.brands]
        calls += [(ledger, sel["question"] + qid) for qid in self.order]
        calls += [
            (ledger, sel["earnings"] + encode(["address", "address"], [account.address, token.address]))
            for account in self.advocates
            for token in self.tokens
        ]
        holders = [ledger] + [account.address for account in self.accounts]
        calls += [(token.address, self.balance_of + encode(["address"], [h])) for token in self.tokens for h in holders]
        calls += [(ledger, sel["nonces"] + encode(["address"], [account.address])) for account in self.advocates]
        calls += [(ledger, self._is_recorded_call(x)) for x in self.answers]
        calls += [(ledger, sel["isRated"] + encode(["bytes32", "uint8", "bytes32"], list(k))) for k in self.ratings]
        batches = list(self.batches.items())
        calls += [
            (ledger, sel["answerBatch"] + encode(["uint64", "bytes32"], [self.brands[bi].id, root]))
            for (bi, root), _ in batches
        ]
        question_batches = list(self.question_batches.values())
        for qb in question_batches:
            key = [self.brands[qb.brand].id, qb.root]
            calls.append((ledger, sel["questionBatch"] + encode(["uint64", "bytes32"], key)))
            calls += [
                (ledger, sel["isBatchedQuestionSettled"] + encode(["uint64", "bytes32", "uint32"], [*key, i]))
                for i in range(len(qb.tree.values))
            ]
        words = iter(self._eth_calls(calls))

        assert decode(["uint64"], next(words)) == (self.brand_count,), "brands admitted"
        pools = {}
        for b in self.brands:
            pools[b.id] = decode(["uint128", "uint128"], next(words))
            assert pools[b.id] == (self.available[b.id], self.escrowed[b.id]), f"pool of brand {b.id}"
        for qid in self.order:
            q = self.questions[qid]
            on_chain = decode(["uint64", "uint48", "uint8", "uint128"], next(words))
            assert on_chain == (self.brands[q.brand].id, q.deadline, q.status, q.bounty), f"question {q.ticket}"
        unclaimed = [0] * len(self.tokens)
        for account in self.advocates:
            for ti in range(len(self.tokens)):
                (amount,) = decode(["uint256"], next(words))
                assert amount == self.earnings[account.address, ti], f"earnings of {account} in token {ti}"
                unclaimed[ti] += amount
        for ti in range(len(self.tokens)):
            (ledger_balance,) = decode(["uint256"], next(words))
            for account in self.accounts:
                (balance,) = decode(["uint256"], next(words))
                assert balance == self.balances[account.address, ti], f"balance of {account} in token {ti}"
            in_pools = sum(sum(pools[b.id]) for b in self.brands if b.token == ti)
            # The ledger holds exactly its pools (available and escrowed) and unclaimed earnings.
            assert ledger_balance == in_pools + unclaimed[ti], f"ledger balance in token {ti}"
            # All the brands deposited is in a pool, owed to an account, or was withdrawn.
            deposited = sum(self.deposited[b.id] for b in self.brands if b.token == ti)
            withdrawn = sum(self.pool_withdrawn[b.id] for b in self.brands if b.token == ti)
            assert deposited == in_pools + unclaimed[ti] + withdrawn + self.earnings_withdrawn[ti]
        for account in self.advocates:
            assert decode(["uint256"], next(words)) == (self.nonces[account.address],), f"nonce of {account}"
        # Every answer recorded counts for its own brand, never through another brand's batch.
        for answer in self.answers:
            assert decode(["bool"], next(words)) == (self._counts(answer),), f"answer {answer}"
        for key in self.ratings:
            assert decode(["bool"], next(words)) == (True,), f"rating {key}"
        # Each brand's batch is its own: a copy of its root anchored by another brand changed nothing.
        for (bi, root), size in batches:
            brand_id, on_chain_size, _ = decode(["uint64", "uint32", "uint48"], next(words))
            assert (brand_id, on_chain_size) == (self.brands[bi].id, size), f"batch {root.hex()} of brand {bi}"
        # Each batch of questions escrows what the model says, and has exactly its settled bits.
        for qb in question_batches:
            on_chain = decode(["uint128", "uint48", "uint32", "bool"], next(words))
            assert on_chain == (qb.escrowed, qb.deadline, qb.size, qb.released), f"question batch {qb.root.hex()}"
            bits = {i for i in range(len(qb.tree.values)) if decode(["bool"], next(words))[0]}
            assert bits == qb.settled, f"settled questions of batch {qb.root.hex()}"
        assert next(words, None) is None

    def _is_recorded_call(self, answer):
        if answer not in self._calldata:
            self._calldata[answer] = bytes.fromhex(self.ledger.isAnswerRecorded.encode_input(answer.ref())[2:])
        return self._calldata[answer]

    @invariant()
    def invariant_pools_only_fund_their_own_questions(self):
        """Each pool holds its deposits less its withdrawals and its own accepted bounties (stored
        or batched), and escrows exactly its own open bounties and its own batches' remaining
        escrow; all ever credited is the accepted bounties. No batch of questions pays, opens and
        refunds more than the total it escrowed, and a released one holds nothing."""
        accepted = [0] * len(self.tokens)
        for qb in self.question_batches.values():
            assert qb.escrowed >= 0, f"question batch {qb.root.hex()} overdrawn"
            assert qb.paid + qb.opened + qb.refunded + qb.escrowed == qb.total
            assert not qb.released or qb.escrowed == 0
        for bi, b in enumerate(self.brands):
            own = [q for q in self.questions.values() if self.brands[q.brand] is b]
            own_batches = [qb for qb in self.question_batches.values() if qb.brand == bi]
            paid = sum(q.bounty for q in own if q.status == ACCEPTED) + sum(qb.paid for qb in own_batches)
            accepted[b.token] += paid
            escrowed = sum(q.bounty for q in own if q.status == OPEN) + sum(qb.escrowed for qb in own_batches)
            assert self.escrowed[b.id] == escrowed
            assert self.available[b.id] + self.escrowed[b.id] == self.deposited[b.id] - self.pool_withdrawn[b.id] - paid
        assert self.credited == accepted


def _brownie_state_machine(fixture):
    """Brownie's `state_machine`, run from its Python source when the installed module is the
    mypyc-compiled one: Brownie 1.22.2 compiles `brownie/test/stateful.py` with its base class
    marked `@final`, so the compiled methods check `type(self)` exactly and refuse the subclass
    `state_machine` itself generates ("_BrownieStateMachine object expected; got
    BrownieStateMachine"). The source is the same code, interpreted."""
    # Imported here, not at the top: Brownie hashes the modules a test file imports at top level
    # when they lie under the project folder (the virtualenv does) and cannot read a compiled one.
    from brownie.test import stateful

    source = Path(stateful.__file__).with_name("stateful.py")
    if not source.exists() or stateful.__file__ == str(source):
        return fixture
    spec = importlib.util.spec_from_file_location("brownie_test_stateful_interpreted", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


def test_tokens_are_conserved_and_pools_stay_separate(state_machine, ledger, token, PeerCareToken, accounts, admin):
    token_b = PeerCareToken.deploy("PeerCare Reward B", "PCB", admin, {"from": admin})
    ledger.setTokenAllowed(token_b, True, {"from": admin})
    run = _brownie_state_machine(state_machine)
    run(Conservation, ledger, [token, token_b], accounts, settings=SETTINGS)
