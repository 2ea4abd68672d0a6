// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title PeerCare ledger: brands, reward pools, questions, answers, ratings and payouts.
/// @notice Brands fund a pool in an allow-listed ERC-20; each question escrows a bounty from the
/// pool, posted alone or in a Merkle batch of questions that escrows their total; answers are
/// recorded directly (one transaction) or anchored in Merkle batches; the brand's oracle rates
/// answers and accepts one, which credits the bounty to the advocate (or a swarm); advocates pull
/// what they earned. Conversations stay off-chain: every answer and question carries the sha2-256
/// digest of its conversation's CIDv1 (raw codec).
interface IPeerCareLedger {
    /// @notice Lifecycle of a question.
    enum QuestionStatus {
        None, // never posted
        Open, // bounty escrowed, answers accepted until the deadline
        Accepted, // an answer was accepted and the bounty credited
        Expired // the deadline passed without acceptance and the bounty went back to the pool
    }

    /// @notice Who gave a rating, as reported by the brand's oracle.
    enum RaterKind {
        Customer,
        PeerAdvocate,
        BrandExpert
    }

    /// @notice A registered brand. Two slots.
    struct Brand {
        address admin; // manages oracle signers and withdraws unescrowed pool funds
        IERC20 token; // the pool's reward token, fixed at registration
    }

    /// @notice A brand's reward pool. One slot.
    struct Pool {
        uint128 available; // deposited and not escrowed: can fund bounties or be withdrawn
        uint128 escrowed; // locked in open questions' bounties
    }

    /// @notice A posted question. One slot.
    struct Question {
        uint64 brandId; // brand whose pool escrows the bounty
        uint48 deadline; // unix time; answers and acceptance only before it, expiry only after
        QuestionStatus status; // lifecycle state
        uint128 bounty; // amount escrowed from the brand's pool
    }

    /// @notice An anchored batch of answers, keyed by (brand, Merkle root): a root anchored by one
    /// brand never occupies it for another. One slot.
    struct AnswerBatch {
        uint64 brandId; // brand whose oracle anchored it; its answers only count for this brand
        uint32 size; // number of leaves the oracle declared (the manifest lists each)
        uint48 anchoredAt; // block timestamp of anchoring
    }

    /// @notice A posted batch of questions, keyed by (brand, Merkle root). One slot; which of its
    /// questions are settled (accepted or opened) is one bit each, apart.
    struct QuestionBatch {
        uint128 escrowed; // what the batch may still release: its total bounty less what it paid or opened
        uint48 deadline; // unix time shared by all its questions, as `Question.deadline`
        uint32 size; // number of leaves the oracle declared (the manifest lists each); never zero
        bool released; // the remaining escrow went back to the pool after the deadline
    }

    /// @notice Points at a question of a posted batch: the leaf `(questionId, index, topic, bounty,
    /// contentDigest)` of the batch `batchRoot` of `brandId`, proven by `proof`.
    struct QuestionRef {
        uint64 brandId; // brand that posted the batch, whose oracle accepts its answers
        bytes32 batchRoot; // the batch's Merkle root
        uint32 index; // the question's position in the batch (its settled bit); below the batch's size
        bytes32 questionId; // keccak256(abi.encode(brandId, source, ticketId)), as `questionIdOf`
        bytes32 topic; // topic of the question (a short string or a hash of one)
        uint128 bounty; // escrowed for the question within the batch's total
        bytes32 contentDigest; // sha2-256 digest of the question conversation's CIDv1
        bytes32[] proof; // Merkle proof of the leaf in the batch
    }

    /// @notice Points at a recorded answer: directly recorded when `batchRoot` is zero,
    /// otherwise a leaf of that anchored batch proven by `proof`.
    struct AnswerRef {
        bytes32 questionId; // the question answered
        address advocate; // who answered (and is paid on acceptance)
        bytes32 contentDigest; // sha2-256 digest of the answer conversation's CIDv1
        bytes32 batchRoot; // zero for a direct answer
        bytes32[] proof; // Merkle proof of the leaf in the batch; empty for a direct answer
    }

    /// @notice An answer signed by its advocate with EIP-712 and relayed by anyone.
    struct SignedAnswer {
        bytes32 questionId; // the question answered
        bytes32 contentDigest; // sha2-256 digest of the answer conversation's CIDv1
        address advocate; // the signer, who is credited with the answer
        uint256 nonce; // the advocate's next nonce (see `nonces`)
        uint256 deadline; // unix time after which the signature is void
    }

    /// @notice A withdrawal of earnings signed by their owner with EIP-712 and relayed by anyone.
    struct SignedWithdrawal {
        address account; // the signer, whose earnings are withdrawn
        IERC20 token; // the token withdrawn: everything `account` earned in it
        address to; // who receives the tokens
        uint256 nonce; // the account's next nonce (see `nonces`), shared with signed answers
        uint256 deadline; // unix time after which the signature is void
    }

    /// @notice One member's part of a swarm payout.
    struct Share {
        address account; // paid in the pool's token
        uint16 bps; // basis points of the bounty; all shares sum to 10,000
    }

    /// @notice One acceptance of `acceptBatchedAnswers`: `acceptBatchedAnswer(question, answer)`
    /// when `shares` is empty, else `acceptBatchedAnswerWithSwarm(question, answer, shares)`.
    struct BatchedAcceptance {
        QuestionRef question; // the batched question accepted
        AnswerRef answer; // the answer accepted for it
        Share[] shares; // empty: the whole bounty to the answer's advocate; else the swarm's split
    }

    // ---------------------------------------------------------------- errors

    /// @notice The token is not on the allow-list.
    error TokenNotAllowed(address token);
    /// @notice An address argument that must be set was zero.
    error ZeroAddress();
    /// @notice No brand has this id.
    error UnknownBrand(uint64 brandId);
    /// @notice The caller is not the brand's admin.
    error NotBrandAdmin(uint64 brandId, address account);
    /// @notice The caller is not one of the brand's oracle signers.
    error NotBrandOracle(uint64 brandId, address account);
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice The token delivered a different amount than requested (fee-on-transfer or rebasing).
    error DeliveredAmountMismatch(address token, uint256 requested, uint256 received);
    /// @notice The pool holds less than needed outside escrow.
    error InsufficientPoolBalance(uint64 brandId, uint256 available, uint256 needed);
    /// @notice The pool would exceed the 2^128 - 1 accounting limit.
    error PoolOverflow(uint64 brandId);
    /// @notice This (brand, source, ticket) was already posted.
    error QuestionAlreadyPosted(bytes32 questionId);
    /// @notice No question has this id.
    error UnknownQuestion(bytes32 questionId);
    /// @notice The question is no longer open.
    error QuestionNotOpen(bytes32 questionId, QuestionStatus status);
    /// @notice The deadline must lie in the future.
    error DeadlineNotInFuture(uint256 deadline, uint256 nowTimestamp);
    /// @notice The question's deadline has passed: no more answers or acceptance.
    error QuestionDeadlinePassed(bytes32 questionId, uint48 deadline);
    /// @notice The question's deadline has not passed yet: it cannot expire.
    error QuestionNotExpired(bytes32 questionId, uint48 deadline);
    /// @notice The same answer (question, advocate, content) is already recorded.
    error AnswerAlreadyRecorded(bytes32 answerId);
    /// @notice No direct answer with this id was recorded.
    error UnknownAnswer(bytes32 answerId);
    /// @notice The brand (the question's, for an answer) anchored no batch under this root.
    error UnknownBatch(uint64 brandId, bytes32 batchRoot);
    /// @notice The brand already anchored a batch with this root.
    error BatchAlreadyAnchored(uint64 brandId, bytes32 batchRoot);
    /// @notice A batch must have a non-zero root and at least one leaf (`acceptBatchedAnswers`: at
    /// least one acceptance).
    error EmptyBatch();
    /// @notice A batch leaf names no advocate (the zero address): nobody could ever be paid for it.
    error ZeroAdvocate(bytes32 answerId);
    /// @notice The Merkle proof does not place the answer in the batch.
    error InvalidAnswerProof(bytes32 answerId, bytes32 batchRoot);
    /// @notice The signed answer's or withdrawal's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature was not made by the advocate for this chain and contract.
    error InvalidAnswerSigner(address advocate, address recovered);
    /// @notice The withdrawal was not signed by the account for this chain and contract.
    error InvalidWithdrawalSigner(address account, address recovered);
    /// @notice A rating must be 1 to 5.
    error InvalidRating(uint8 rating);
    /// @notice This rater already rated this answer.
    error AlreadyRated(bytes32 answerId, RaterKind raterKind, bytes32 raterId);
    /// @notice Swarm shares must be non-empty and sum to exactly 10,000 basis points.
    error InvalidShares(uint256 count, uint256 totalBps);
    /// @notice A swarm names the same member twice (the shares of each member must be one entry).
    error DuplicateSwarmMember(address account);
    /// @notice A swarm names the ledger itself: earnings credited to it could never be withdrawn.
    error SwarmMemberIsLedger(address account);
    /// @notice Nothing is owed to this account in this token.
    error NothingToWithdraw(address account, address token);
    /// @notice The brand already posted a batch of questions with this root.
    error QuestionBatchAlreadyPosted(uint64 brandId, bytes32 batchRoot);
    /// @notice The brand posted no batch of questions under this root.
    error UnknownQuestionBatch(uint64 brandId, bytes32 batchRoot);
    /// @notice The Merkle proof does not place the question in the batch, or its index is not
    /// below the batch's size.
    error InvalidQuestionProof(bytes32 questionId, bytes32 batchRoot);
    /// @notice The batched question was already settled: accepted, or opened as a stored question.
    error BatchedQuestionSettled(bytes32 questionId, bytes32 batchRoot, uint32 index);
    /// @notice The answer names another question than the batched question it is accepted for.
    error AnswerOfAnotherQuestion(bytes32 questionId, bytes32 answerQuestionId);
    /// @notice The question's bounty is more than its batch still escrows: the leaves of the batch
    /// add up to more than the total it escrowed, and the batch pays no more than that total.
    error BatchEscrowExceeded(uint64 brandId, bytes32 batchRoot, uint128 escrowed, uint128 bounty);
    /// @notice The batch's deadline has not passed yet: its escrow cannot be released.
    error QuestionBatchNotExpired(uint64 brandId, bytes32 batchRoot, uint48 deadline);
    /// @notice The batch's remaining escrow was already released.
    error QuestionBatchAlreadyReleased(uint64 brandId, bytes32 batchRoot);
    /// @notice The ticket (brand, source, ticket id) does not hash to the question id: a batch may
    /// only open, under a question id, a ticket of its own brand.
    error QuestionIdMismatch(bytes32 questionId, bytes32 ticketQuestionId);

    // ---------------------------------------------------------------- events

    /// @notice The admin allowed or disallowed a reward token.
    event TokenAllowanceSet(address indexed token, bool allowed);
    /// @notice A brand registered.
    event BrandRegistered(uint64 indexed brandId, address indexed admin, address indexed token);
    /// @notice A brand's admin changed.
    event BrandAdminChanged(uint64 indexed brandId, address indexed previousAdmin, address indexed newAdmin);
    /// @notice A brand's oracle signer was enabled or disabled.
    event BrandOracleSet(uint64 indexed brandId, address indexed oracle, bool enabled);
    /// @notice Tokens entered a brand's pool.
    event PoolDeposited(uint64 indexed brandId, address indexed from, uint256 amount);
    /// @notice The brand took unescrowed tokens out of its pool.
    event PoolWithdrawn(uint64 indexed brandId, address indexed to, uint256 amount);
    /// @notice A question was posted and its bounty escrowed.
    event QuestionPosted(
        bytes32 indexed questionId,
        uint64 indexed brandId,
        bytes32 indexed topic,
        bytes32 source,
        string ticketId,
        uint128 bounty,
        uint48 deadline,
        bytes32 contentDigest
    );
    /// @notice An expired question's bounty went back to its pool.
    event QuestionExpired(bytes32 indexed questionId, uint64 indexed brandId, uint128 refunded);
    /// @notice A batch of questions was posted and their total bounty escrowed: each leaf is one
    /// question (a StandardMerkleTree leaf of types `bytes32 questionId, uint32 index, bytes32 topic,
    /// uint128 bounty, bytes32 contentDigest`); `manifestDigest` addresses the list of its leaves
    /// with each question's source and ticket id. All its questions share `deadline`.
    event QuestionBatchPosted(
        uint64 indexed brandId,
        bytes32 indexed batchRoot,
        uint32 size,
        uint128 totalBounty,
        uint48 deadline,
        bytes32 manifestDigest
    );
    /// @notice A batched question became a stored question (`question(questionId)`), open to direct
    /// answers, rating, acceptance and expiry like a posted one; its bounty left the batch's escrow
    /// for the question's.
    event BatchedQuestionOpened(
        bytes32 indexed questionId, uint64 indexed brandId, bytes32 indexed batchRoot, uint32 index
    );
    /// @notice A batched question was accepted without being opened (`acceptBatchedAnswer`): its
    /// settled bit is set and its bounty left the batch's escrow. Emitted before `AnswerAccepted`,
    /// which does not name the brand: this does, so a payout's pool is known from the chain alone,
    /// even when the batch's manifest cannot be read.
    event BatchedQuestionAccepted(
        bytes32 indexed questionId, uint64 indexed brandId, bytes32 indexed batchRoot, uint32 index
    );
    /// @notice An expired batch's remaining escrow (its unsettled questions' bounties) went back to
    /// its pool.
    event QuestionBatchReleased(uint64 indexed brandId, bytes32 indexed batchRoot, uint128 refunded);
    /// @notice An answer was recorded directly. Its id is `answerIdOf(questionId, advocate, contentDigest)`.
    event AnswerRecorded(bytes32 indexed questionId, address indexed advocate, bytes32 contentDigest);
    /// @notice A batch of answers was anchored; `manifestDigest` addresses the list of its leaves.
    event AnswerBatchAnchored(uint64 indexed brandId, bytes32 indexed batchRoot, uint32 size, bytes32 manifestDigest);
    /// @notice A batch of routing decisions was anchored: each leaf is one person offered a question
    /// at one round (or the round's decision itself, advocate zero), with the decision's commitment
    /// (a StandardMerkleTree leaf of types `bytes32 questionId, uint32 round, address advocate,
    /// bytes32 commitment`); `manifestDigest` addresses the decisions' records.
    event RoutingBatchAnchored(uint64 indexed brandId, bytes32 indexed batchRoot, uint32 size, bytes32 manifestDigest);
    /// @notice A batch of ratings was anchored: each leaf is one rating (a StandardMerkleTree leaf of
    /// types `bytes32 questionId, address advocate, bytes32 contentDigest, uint8 rating, uint8
    /// raterKind, bytes32 raterId`, the first three naming the answer); `manifestDigest` addresses
    /// the list of its leaves. Nothing is stored: one rating per rater and answer is the oracle's
    /// rule, checked by the indexer (a repeat counts nothing) and by the audit.
    event RatingBatchAnchored(uint64 indexed brandId, bytes32 indexed batchRoot, uint32 size, bytes32 manifestDigest);
    /// @notice An answer was rated on behalf of a rater.
    event AnswerRated(
        bytes32 indexed answerId,
        bytes32 indexed questionId,
        address indexed advocate,
        uint8 rating,
        RaterKind raterKind,
        bytes32 raterId
    );
    /// @notice An answer was accepted and the bounty released.
    event AnswerAccepted(bytes32 indexed questionId, bytes32 indexed answerId, address indexed advocate, uint128 bounty);
    /// @notice Tokens were credited to an account's earnings for a question.
    event RewardCredited(address indexed account, address indexed token, bytes32 indexed questionId, uint256 amount);
    /// @notice An account withdrew its earnings.
    event EarningsWithdrawn(address indexed account, address indexed token, address to, uint256 amount);

    // ---------------------------------------------------------------- admin

    /// @notice Allow or disallow a token for new brands and deposits. Admin only.
    function setTokenAllowed(IERC20 token, bool allowed) external;

    /// @notice Stop every movement of tokens in or out of the ledger and of pools (deposits,
    /// withdrawals, escrow, refunds). Acceptance keeps working: it only credits earnings inside the
    /// ledger, which cannot leave it while paused, and an advocate must not lose an acceptance
    /// because a pause spanned the question's deadline. Pauser only.
    function pause() external;

    /// @notice Resume token movements. Pauser only.
    function unpause() external;

    // ---------------------------------------------------------------- brands and pools

    /// @notice Register a brand with its admin, an allow-listed reward token and its oracle signers.
    /// Brand registrar only (`BRAND_REGISTRAR_ROLE`): a brand's oracles record history that
    /// reputation and routing count, so who may become one is admitted, not open.
    function registerBrand(address admin, IERC20 token, address[] calldata oracles) external returns (uint64 brandId);

    /// @notice Hand the brand to a new admin. Brand admin only.
    function setBrandAdmin(uint64 brandId, address newAdmin) external;

    /// @notice Enable or disable an oracle signer of the brand; takes effect at once. Brand admin only.
    function setBrandOracle(uint64 brandId, address oracle, bool enabled) external;

    /// @notice Move `amount` of the brand's token from the caller into the brand's pool.
    function deposit(uint64 brandId, uint256 amount) external;

    /// @notice `deposit` after an EIP-2612 permit, in one transaction.
    function depositWithPermit(uint64 brandId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Withdraw unescrowed pool funds to `to`. Brand admin only.
    function withdrawFromPool(uint64 brandId, uint256 amount, address to) external;

    // ---------------------------------------------------------------- questions

    /// @notice Post a ticket as a question, escrowing `bounty` from the pool. Brand oracle only.
    /// @param source the ticketing system, e.g. "zendesk" as a short string
    /// @param ticketId the ticket's id in that system
    /// @param topic topic of the question (a short string or a hash of one)
    function postQuestion(
        uint64 brandId,
        bytes32 source,
        string calldata ticketId,
        bytes32 topic,
        uint128 bounty,
        uint48 deadline,
        bytes32 contentDigest
    ) external returns (bytes32 questionId);

    /// @notice Return an open question's bounty to its pool once its deadline has passed. Anyone.
    function expireQuestion(bytes32 questionId) external;

    /// @notice Post a Merkle batch of `size` questions sharing `deadline`, escrowing `totalBounty`
    /// from the pool: one stored slot for the whole batch. Brand oracle only; once per (brand,
    /// root). The contract does not read the leaves: a batch never releases more than
    /// `totalBounty`, and the audit checks the manifest (leaves adding up to the total, question ids
    /// hashing from the brand's tickets, no question id twice).
    /// @param manifestDigest sha2-256 digest of the manifest's CIDv1: its leaves, each with the
    /// question's source and ticket id
    function postQuestionBatch(
        uint64 brandId,
        bytes32 batchRoot,
        uint32 size,
        uint128 totalBounty,
        uint48 deadline,
        bytes32 manifestDigest
    ) external;

    /// @notice Return an expired batch's remaining escrow to its pool, once, after its deadline.
    /// Anyone. Questions of the batch opened with `openBatchedQuestion` expire on their own.
    function releaseQuestionBatch(uint64 brandId, bytes32 batchRoot) external;

    /// @notice Store a batched question as `postQuestion` would (brand, the batch's deadline, open,
    /// its bounty), so that `submitAnswer`, `submitAnswerWithSig`, `rateAnswer`, `acceptAnswer`,
    /// `acceptAnswerWithSwarm` and `expireQuestion` work on it. Anyone, before the batch's deadline,
    /// once per question; the question's bounty moves from the batch's escrow to its own. The ticket
    /// (`source`, `ticketId`, from the manifest) must hash with the batch's brand to the question
    /// id, so no brand can occupy the id of another brand's ticket.
    function openBatchedQuestion(QuestionRef calldata question, bytes32 source, string calldata ticketId)
        external;

    // ---------------------------------------------------------------- answers

    /// @notice Record the caller's answer to an open question.
    function submitAnswer(bytes32 questionId, bytes32 contentDigest) external returns (bytes32 answerId);

    /// @notice Record an answer signed by its advocate (EIP-712); anyone may relay it.
    function submitAnswerWithSig(SignedAnswer calldata answer, bytes calldata signature)
        external
        returns (bytes32 answerId);

    /// @notice Anchor the Merkle root of a batch of answers under the brand. Brand oracle only; once
    /// per (brand, root): another brand anchoring the same root does not stop this one.
    function anchorAnswerBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external;

    /// @notice Anchor the Merkle root of a batch of the brand's routing decisions. Brand oracle only.
    /// Nothing is stored: the event is the record, and routing proofs are checked against it off
    /// chain (no contract needs them), which keeps a decision at a few hundred gas.
    function anchorRoutingBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external;

    /// @notice Anchor the Merkle root of a batch of the brand's ratings. Brand oracle only. Nothing is
    /// stored (see `RatingBatchAnchored`), which keeps a rating at a few hundred gas; `rateAnswer`
    /// stays for a caller who wants one rating checked and stored on its own.
    function anchorRatingBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external;

    /// @notice Rate a recorded answer (1-5) on behalf of a rater. Brand oracle only; once per rater.
    function rateAnswer(AnswerRef calldata answer, uint8 rating, RaterKind raterKind, bytes32 raterId) external;

    /// @notice Accept a recorded answer: its advocate is credited the whole bounty. Brand oracle only.
    function acceptAnswer(AnswerRef calldata answer) external;

    /// @notice Accept a recorded answer and split the bounty across a swarm by basis points; the
    /// rounding remainder goes to the accepted answer's advocate. Members are distinct, non-zero
    /// and not the ledger itself. Brand oracle only.
    function acceptAnswerWithSwarm(AnswerRef calldata answer, Share[] calldata shares) external;

    /// @notice Accept an answer to a batched question: its advocate is credited the whole bounty,
    /// which leaves the batch's escrow, and the question is settled (its bit set). The answer is
    /// direct or proven in a batch of the question's brand, as for `acceptAnswer`, and emits the
    /// same events. Brand oracle of `question.brandId` only; before the batch's deadline; works
    /// while paused, as `acceptAnswer`.
    function acceptBatchedAnswer(QuestionRef calldata question, AnswerRef calldata answer) external;

    /// @notice `acceptBatchedAnswer` with the bounty split across a swarm exactly as
    /// `acceptAnswerWithSwarm` splits it.
    function acceptBatchedAnswerWithSwarm(
        QuestionRef calldata question,
        AnswerRef calldata answer,
        Share[] calldata shares
    ) external;

    /// @notice Accept answers to many batched questions in one transaction: each acceptance is
    /// checked and settled in order exactly as `acceptBatchedAnswer` (empty `shares`) or
    /// `acceptBatchedAnswerWithSwarm` would, with the same errors and the same events
    /// (`BatchedQuestionAccepted`, `AnswerAccepted`, `RewardCredited`...) for each, so it costs one
    /// transaction and, after the first acceptance, warm storage (the oracle's role, the pool, the
    /// token, the batches, the word of settled bits). All or nothing: any acceptance refused
    /// reverts the whole call with its error (a question twice in the list is
    /// `BatchedQuestionSettled` the second time). Acceptances may be of different brands and
    /// batches; each needs the caller to be an oracle of its question's brand. Works while
    /// paused, as `acceptBatchedAnswer`. Reverts with `EmptyBatch` if `acceptances` is empty.
    function acceptBatchedAnswers(BatchedAcceptance[] calldata acceptances) external;

    /// @notice Send the caller everything it earned in `token` to `to`.
    function withdrawEarnings(IERC20 token, address to) external returns (uint256 amount);

    /// @notice `withdrawEarnings` for `withdrawal.account`, who signed it (EIP-712); anyone may relay
    /// it and pay the gas. The signature is void on another chain or contract, after its deadline,
    /// a second time (it uses the account's nonce, the one signed answers use too) or in its high-s
    /// form. Emits `EarningsWithdrawn` like `withdrawEarnings`.
    function withdrawEarningsWithSig(SignedWithdrawal calldata withdrawal, bytes calldata signature)
        external
        returns (uint256 amount);

    // ---------------------------------------------------------------- views

    function isTokenAllowed(IERC20 token) external view returns (bool);

    function brandCount() external view returns (uint64);

    function brand(uint64 brandId) external view returns (Brand memory);

    function isBrandOracle(uint64 brandId, address account) external view returns (bool);

    function pool(uint64 brandId) external view returns (Pool memory);

    function question(bytes32 questionId) external view returns (Question memory);

    /// @notice The batch `brandId` anchored under `batchRoot`; reverts with `UnknownBatch` if none.
    function answerBatch(uint64 brandId, bytes32 batchRoot) external view returns (AnswerBatch memory);

    /// @notice The batch of questions `brandId` posted under `batchRoot`; reverts with
    /// `UnknownQuestionBatch` if none.
    function questionBatch(uint64 brandId, bytes32 batchRoot) external view returns (QuestionBatch memory);

    /// @notice Whether the batched question can still be accepted or opened: its batch was posted,
    /// the proof places it there below the batch's size, it is not settled, and the batch's
    /// deadline has not passed (nor its escrow been released). An opened question is settled in
    /// its batch: `question(questionId)` then says whether it is open. A batch whose leaves add up
    /// to more than its total may still refuse it (`BatchEscrowExceeded`) once its escrow runs out.
    function isBatchedQuestionOpen(QuestionRef calldata question) external view returns (bool);

    /// @notice Whether the question at `index` of the batch was settled (accepted or opened).
    function isBatchedQuestionSettled(uint64 brandId, bytes32 batchRoot, uint32 index) external view returns (bool);

    function earnings(address account, IERC20 token) external view returns (uint256);

    /// @notice Whether the answer is recorded: directly, or proven in a batch anchored by its
    /// question's brand (and naming an advocate).
    function isAnswerRecorded(AnswerRef calldata answer) external view returns (bool);

    /// @notice Whether the answer is recorded for brand `brandId`: directly, or proven in a batch
    /// anchored by the brand (and naming an advocate). For an answer to a question posted in a batch
    /// and never opened, which `isAnswerRecorded` cannot place (the ledger stores no such question):
    /// the question's brand is in its batch (`QuestionBatchPosted`, whose manifest lists it).
    function isAnswerRecordedFor(uint64 brandId, AnswerRef calldata answer) external view returns (bool);

    /// @notice Whether `answerId` was rated by this rater.
    function isRated(bytes32 answerId, RaterKind raterKind, bytes32 raterId) external view returns (bool);

    /// @notice Whether `signature` is `answer.advocate`'s EIP-712 signature of `answer` on this chain
    /// and contract (low-s only). Neither the deadline nor the nonce is checked: this verifies on
    /// demand the signature an answer anchored in a batch carries in its manifest, whose nonce is
    /// never used on chain (the answer's id, not the nonce, makes it once).
    function isAnswerSignatureValid(SignedAnswer calldata answer, bytes calldata signature)
        external
        view
        returns (bool);

    /// @notice The EIP-712 digest an advocate signs for `answer`.
    function signedAnswerDigest(SignedAnswer calldata answer) external view returns (bytes32);

    /// @notice The EIP-712 digest an account signs for `withdrawal`.
    function signedWithdrawalDigest(SignedWithdrawal calldata withdrawal) external view returns (bytes32);

    /// @notice keccak256(abi.encode(brandId, source, ticketId)).
    function questionIdOf(uint64 brandId, bytes32 source, string calldata ticketId) external pure returns (bytes32);

    /// @notice keccak256(abi.encode(questionId, advocate, contentDigest)); the batch leaf is its keccak256.
    function answerIdOf(bytes32 questionId, address advocate, bytes32 contentDigest) external pure returns (bytes32);

    /// @notice The leaf of a question in a batch: keccak256(keccak256(abi.encode(questionId, index,
    /// topic, bounty, contentDigest))).
    function questionLeafOf(bytes32 questionId, uint32 index, bytes32 topic, uint128 bounty, bytes32 contentDigest)
        external
        pure
        returns (bytes32);
}
