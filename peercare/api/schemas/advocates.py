"""Models of the advocates' routes (`routes/advocates.py`): earnings, answers and ratings, a
gasless answer's draft (with the EIP-712 typed data to sign) and its submission, a withdrawal.
An advocate's reputation is `peercare.api.reputation_reads.Reputation`, served ready-made."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from peercare.api.schemas.common import Address, Hex32, Strict, TokenAmount
from peercare.core.enums import RaterKindLabel

AnyHex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 bytes, 0x-prefixed hex")]
Cid = Annotated[str, Field(pattern=r"^b[a-z2-7]{58}$", description="A CIDv1 (raw, sha2-256, base32)")]


# ---------------------------------------------------------------- earnings


class TokenEarnings(BaseModel):
    token: Address
    decimals: int = Field(description="The token's `decimals()`: amounts are in its smallest units")
    credited: TokenAmount = Field(description="Credited by accepted answers, ever")
    withdrawn: TokenAmount
    claimable: TokenAmount = Field(description="credited - withdrawn, from the indexed events")
    claimable_on_chain: TokenAmount = Field(description="The ledger's `earnings(account, token)` now")


class EarningsOut(BaseModel):
    advocate: Address
    tokens: list[TokenEarnings] = Field(description="Every token the advocate was ever credited in")


class Credit(BaseModel):
    """One `RewardCredited` to the advocate: an accepted answer's bounty, or a swarm share of it."""

    id: int = Field(description="The row's position in the index (what cursors count)")
    question_id: Hex32
    brand_id: int | None = Field(description="The question's brand (null if its posting is not indexed)")
    token: Address
    amount: TokenAmount = Field(description="Credited to the advocate by this acceptance")
    bounty: TokenAmount | None = Field(description="The question's whole bounty (null if not indexed)")
    share_bps: int | None = Field(description="amount / bounty in basis points, rounded down")
    swarm: bool = Field(description="The bounty was split across a swarm (several credits for the question)")
    block_time: int
    tx_hash: Hex32


# ---------------------------------------------------------------- answers and ratings


class AdvocateAnswer(BaseModel):
    id: int = Field(description="The row's position in the index (what cursors count)")
    answer_id: Hex32
    question_id: Hex32
    brand_id: int | None = Field(description="The question's brand (null if its posting is not indexed)")
    content_digest: Hex32
    content_cid: str
    batch_root: Hex32 | None = Field(description="The anchored batch holding it; null if recorded directly")
    leaf_index: int | None = Field(description="Its position in the batch's manifest; null if recorded directly")
    block_number: int
    block_time: int
    tx_hash: Hex32
    accepted: bool
    ratings: int
    rating_average: float | None


class AdvocateRating(BaseModel):
    id: int
    answer_id: Hex32
    question_id: Hex32
    brand_id: int | None
    rating: int = Field(ge=1, le=5)
    rater_kind: RaterKindLabel
    rater_id: Hex32 = Field(description="A hash of the rater's id: never the id")
    block_number: int
    block_time: int
    tx_hash: Hex32


# ---------------------------------------------------------------- gasless answers


class DraftIn(Strict):
    question_id: AnyHex32
    body: str = Field(max_length=20_000, pattern=r"\S", description="The answer's text")


class TypedField(BaseModel):
    name: str
    type: str


class TypedDomain(BaseModel):
    name: str
    version: str
    chainId: int
    verifyingContract: Address


class AnswerMessage(BaseModel):
    questionId: Hex32
    contentDigest: Hex32
    nonce: int
    deadline: int


class AnswerTypedData(BaseModel):
    """EIP-712 typed data, as `eth_signTypedData_v4` takes it."""

    types: dict[str, list[TypedField]]
    primaryType: Literal["Answer"]
    domain: TypedDomain
    message: AnswerMessage


class DraftOut(BaseModel):
    question_id: Hex32
    advocate: Address
    answer_id: Hex32 = Field(description="The answer's id once recorded (the ledger's `answerIdOf`)")
    content_cid: str = Field(description="The stored (sealed) answer conversation: submit it back")
    content_digest: Hex32
    nonce: int = Field(description="The advocate's next ledger nonce, counting answers already being relayed")
    deadline: int = Field(description="Unix time after which the signature is void")
    typed_data: AnswerTypedData = Field(description="Sign this with the advocate's wallet")


class SubmitIn(Strict):
    question_id: AnyHex32
    content_cid: Cid = Field(description="From the draft")
    nonce: int = Field(ge=0, le=2**256 - 1)
    deadline: int = Field(ge=0, le=2**64 - 1)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="The 65-byte EIP-712 signature")


class SubmittedOut(BaseModel):
    answer_id: Hex32
    question_id: Hex32
    status: Literal["queued"] = Field(description="Queued for the oracle's signer to relay")


# ---------------------------------------------------------------- withdrawals


class WithdrawalIn(Strict):
    token: Address = Field(description="The token to withdraw all claimable earnings in")
    to: Address | None = Field(default=None, description="Who receives them (default: the advocate)")


class WithdrawalMessage(BaseModel):
    account: Address
    token: Address
    to: Address
    nonce: int
    deadline: int


class WithdrawalTypedData(BaseModel):
    """EIP-712 typed data of a signed withdrawal, as `eth_signTypedData_v4` takes it."""

    types: dict[str, list[TypedField]]
    primaryType: Literal["Withdrawal"]
    domain: TypedDomain
    message: WithdrawalMessage


class WithdrawalDraftOut(BaseModel):
    advocate: Address
    token: Address
    to: Address
    amount: TokenAmount = Field(description="What the ledger holds for the advocate in the token now")
    nonce: int = Field(description="The advocate's next ledger nonce, counting signed calls still being relayed")
    deadline: int = Field(description="Unix time after which the signature is void")
    typed_data: WithdrawalTypedData = Field(description="Sign this with the advocate's wallet")


class SignedWithdrawalIn(Strict):
    token: Address
    to: Address
    nonce: int = Field(ge=0, le=2**256 - 1)
    deadline: int = Field(ge=0, le=2**64 - 1)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="The 65-byte EIP-712 signature")


class WithdrawalQueuedOut(BaseModel):
    advocate: Address
    token: Address
    to: Address
    amount: TokenAmount = Field(description="What the ledger held for the advocate when it was queued")
    nonce: int
    status: Literal["queued"] = Field(description="Queued for the oracle's signer to relay")
