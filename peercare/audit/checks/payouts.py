"""Check 3, payouts: each `RewardCredited` comes with an `AnswerAccepted` of the same question in the
same transaction, the credits of one acceptance sum to its bounty, the accepted answer was
recorded, and each brand's pool (and, without --brand, each account's earnings) as summed from the
events equals what the ledger's views say at the audited head. Owns `check_payouts`, the pool and
earnings balances.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session
from web3.contract import Contract

from peercare.audit.checks.common import Check, ScratchIndex, Section, ledger_views
from peercare.chain.views import ChainReader
from peercare.db.tables import projections as ix


def check_payouts(
    index: ScratchIndex, session: Session, rpc: ChainReader, ledger: Contract, head: int, brand_id: int | None
) -> Section:
    section = Section(Check.PAYOUTS)
    for counter in ("acceptances", "swarm acceptances", "payouts", "pools balanced", "earnings balanced"):
        section.counts[counter] = 0
    answers = {row.answer_id: row for row in index.answers}
    credits: dict[tuple[str, str], list[ix.RewardCredit]] = defaultdict(list)
    for credit in index.credits:
        credits[(credit.tx_hash, credit.question_id)].append(credit)
    accepted: dict[str, ix.Acceptance] = {}
    for acceptance in index.acceptances:
        question = acceptance.question_id
        subject = f"question {question}"
        where = {"question_id": question, "answer_id": acceptance.answer_id, "tx_hash": acceptance.tx_hash}
        # A batched question's brand is on chain even when its batch's manifest is not readable
        # (check 8 reports that): its payouts are still checked, and attributed to its pool.
        posted, brand = index.questions.get(question), index.brand_of_question(question)
        paid = credits.pop((acceptance.tx_hash, question), [])
        if brand is None:
            if brand_id is None:
                section.find(subject, f"answer {acceptance.answer_id} was accepted but the question was never posted")
            continue
        if brand_id is not None and brand != brand_id:
            continue
        section.count("acceptances")
        section.count("payouts", len(paid))
        if len(paid) > 1:
            section.count("swarm acceptances")
        if question in accepted:
            first = accepted[question].tx_hash
            section.find(subject, f"accepted twice (transactions {first} and {acceptance.tx_hash})", **where)
        accepted[question] = acceptance
        answer = answers.get(acceptance.answer_id)
        if answer is None:
            section.find(
                subject,
                f"the accepted answer {acceptance.answer_id} is not among the recorded answers "
                "(not recorded directly, nor in a batch whose manifest proves it)",
                **where,
            )
        elif answer.question_id != question or answer.advocate != acceptance.advocate:
            section.find(
                subject,
                f"the accepted answer {acceptance.answer_id} is {answer.advocate}'s answer to {answer.question_id}, "
                f"the acceptance names {acceptance.advocate}'s answer to this question",
                **where,
            )
        if posted is not None and acceptance.bounty != posted.bounty:
            section.find(subject, f"accepted with bounty {acceptance.bounty}, posted with {posted.bounty}", **where)
        total = sum(credit.amount for credit in paid)
        if total != acceptance.bounty:
            shares = ", ".join(f"{credit.account} {credit.amount}" for credit in paid) or "none"
            section.find(
                subject, f"its payouts sum to {total}, its accepted bounty is {acceptance.bounty} ({shares})", **where
            )
        registration = index.brands.get(brand)
        pool_token = None if registration is None else registration.token
        wrong_token = [credit for credit in paid if credit.token != pool_token]
        if wrong_token:
            section.find(
                subject,
                f"paid in {wrong_token[0].token}, brand {brand}'s pool token is {pool_token}",
                **where,
            )
    for (tx_hash, question), unaccepted in sorted(credits.items()):
        if brand_id is not None and index.brand_of_question(question) != brand_id:
            continue
        section.count("payouts", len(unaccepted))
        for credit in unaccepted:
            section.find(
                f"question {question}",
                f"{credit.amount} credited to {credit.account} in transaction {tx_hash} without an acceptance",
                question_id=question,
                tx_hash=tx_hash,
                account=credit.account,
                amount=str(credit.amount),
            )
    _check_pools(section, index, session, rpc, ledger, head, brand_id)
    if brand_id is None:
        _check_earnings(section, index, session, rpc, ledger, head)
    else:
        section.scope = "earnings are per account and token, across brands: checked without --brand only"
    return section


def _check_pools(
    section: Section,
    index: ScratchIndex,
    session: Session,
    rpc: ChainReader,
    ledger: Contract,
    head: int,
    brand_id: int | None,
) -> None:
    brands = sorted(brand for brand in index.brands if brand_id in (None, brand))
    results = ledger_views(rpc, ledger, head, [("pool", [brand]) for brand in brands], ["uint128", "uint128"])
    for brand, (available, escrowed) in zip(brands, results, strict=True):
        balance = ix.pool_balance(session, brand)
        if (balance.available, balance.escrowed_open) == (available, escrowed):
            section.count("pools balanced")
            continue
        section.find(
            f"brand {brand} pool",
            f"the ledger holds {available} available and {escrowed} escrowed at block {head}; its events "
            f"add up to {balance.available} available and {balance.escrowed_open} escrowed "
            f"(deposited {balance.deposited}, withdrawn {balance.withdrawn}, paid {balance.paid}, "
            f"refunded {balance.refunded})",
            brand_id=brand,
            ledger={"available": str(available), "escrowed": str(escrowed)},
            events={"available": str(balance.available), "escrowed": str(balance.escrowed_open)},
        )


def _check_earnings(
    section: Section, index: ScratchIndex, session: Session, rpc: ChainReader, ledger: Contract, head: int
) -> None:
    pairs = sorted(
        {(row.account, row.token) for row in index.credits} | {(row.account, row.token) for row in index.withdrawals}
    )
    results = ledger_views(rpc, ledger, head, [("earnings", [account, token]) for account, token in pairs], ["uint256"])
    for (account, token), (held,) in zip(pairs, results, strict=True):
        summed = ix.earnings(session, account, token)
        if summed.claimable == held:
            section.count("earnings balanced")
            continue
        section.find(
            f"account {account} earnings",
            f"the ledger holds {held} of token {token} at block {head}; its events add up to {summed.claimable} "
            f"(credited {summed.credited}, withdrawn {summed.withdrawn})",
            account=account,
            token=token,
        )
