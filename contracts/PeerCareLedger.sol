// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPeerCareLedger} from "./interfaces/IPeerCareLedger.sol";
import {Leaves} from "./libraries/Leaves.sol";
import {SwarmSplit} from "./libraries/SwarmSplit.sol";

/// @title PeerCareLedger
/// @dev Pausing stops token movements only: deposits, withdrawals, escrow and refunds. Records
/// (answers, batches, ratings) and acceptance keep flowing so that no advocate's work is lost while
/// funds are frozen: acceptance only credits earnings inside the ledger, and they cannot leave it
/// until the pause ends. Recording an answer reads a single storage slot.
contract PeerCareLedger is IPeerCareLedger, AccessControl, Pausable, ReentrancyGuardTransient, EIP712, Nonces {
    using SafeERC20 for IERC20;

    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant BRAND_REGISTRAR_ROLE = keccak256("BRAND_REGISTRAR_ROLE");
    bytes32 public constant SIGNED_ANSWER_TYPEHASH =
        keccak256("Answer(bytes32 questionId,bytes32 contentDigest,uint256 nonce,uint256 deadline)");
    bytes32 public constant SIGNED_WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(address account,address token,address to,uint256 nonce,uint256 deadline)");

    mapping(IERC20 token => bool) private _allowedTokens;
    uint64 private _brandCount;
    mapping(uint64 brandId => Brand) private _brands;
    mapping(uint64 brandId => mapping(address account => bool)) private _brandOracles;
    mapping(uint64 brandId => Pool) private _pools;
    mapping(bytes32 questionId => Question) private _questions;
    mapping(bytes32 answerId => uint256 recordedAt) private _directAnswers;
    mapping(bytes32 batchKey => AnswerBatch) private _batches; // key: _batchKey(brandId, batchRoot)
    mapping(bytes32 batchKey => QuestionBatch) private _questionBatches; // key: _batchKey(brandId, batchRoot)
    // Settled questions of a batch: bit `index % 256` of word `index / 256`, so 256 share a slot.
    mapping(bytes32 batchKey => mapping(uint256 word => uint256 bits)) private _settledQuestions;
    mapping(bytes32 ratingKey => bool) private _ratings;
    mapping(address account => mapping(IERC20 token => uint256)) private _earnings;

    constructor(address admin, address pauser) EIP712("PeerCareLedger", "1") {
        if (admin == address(0) || pauser == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, pauser);
    }

    modifier onlyBrandAdmin(uint64 brandId) {
        _requireBrandAdmin(brandId);
        _;
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IPeerCareLedger
    function setTokenAllowed(IERC20 token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(token) == address(0)) revert ZeroAddress();
        _allowedTokens[token] = allowed;
        emit TokenAllowanceSet(address(token), allowed);
    }

    /// @inheritdoc IPeerCareLedger
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IPeerCareLedger
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- brands and pools

    /// @inheritdoc IPeerCareLedger
    function registerBrand(address admin, IERC20 token, address[] calldata oracles)
        external
        onlyRole(BRAND_REGISTRAR_ROLE)
        returns (uint64 brandId)
    {
        if (admin == address(0)) revert ZeroAddress();
        if (!_allowedTokens[token]) revert TokenNotAllowed(address(token));
        brandId = ++_brandCount;
        _brands[brandId] = Brand({admin: admin, token: token});
        emit BrandRegistered(brandId, admin, address(token));
        for (uint256 i; i < oracles.length; ++i) {
            _setBrandOracle(brandId, oracles[i], true);
        }
    }

    /// @inheritdoc IPeerCareLedger
    function setBrandAdmin(uint64 brandId, address newAdmin) external onlyBrandAdmin(brandId) {
        if (newAdmin == address(0)) revert ZeroAddress();
        address previous = _brands[brandId].admin;
        _brands[brandId].admin = newAdmin;
        emit BrandAdminChanged(brandId, previous, newAdmin);
    }

    /// @inheritdoc IPeerCareLedger
    function setBrandOracle(uint64 brandId, address oracle, bool enabled) external onlyBrandAdmin(brandId) {
        _setBrandOracle(brandId, oracle, enabled);
    }

    /// @inheritdoc IPeerCareLedger
    function deposit(uint64 brandId, uint256 amount) external whenNotPaused nonReentrant {
        _deposit(brandId, amount);
    }

    /// @inheritdoc IPeerCareLedger
    function depositWithPermit(uint64 brandId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
        nonReentrant
    {
        IERC20 token = _requireBrand(brandId).token;
        // A permit seen in the mempool can be front-run; the allowance it sets is what matters.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(brandId, amount);
    }

    /// @inheritdoc IPeerCareLedger
    function withdrawFromPool(uint64 brandId, uint256 amount, address to)
        external
        whenNotPaused
        nonReentrant
        onlyBrandAdmin(brandId)
    {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Pool storage pool_ = _pools[brandId];
        if (amount > pool_.available) revert InsufficientPoolBalance(brandId, pool_.available, amount);
        // Cannot underflow: checked just above; the cast is exact since amount <= available < 2^128.
        unchecked {
            pool_.available -= uint128(amount);
        }
        emit PoolWithdrawn(brandId, to, amount);
        _brands[brandId].token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- questions

    /// @inheritdoc IPeerCareLedger
    function postQuestion(
        uint64 brandId,
        bytes32 source,
        string calldata ticketId,
        bytes32 topic,
        uint128 bounty,
        uint48 deadline,
        bytes32 contentDigest
    ) external whenNotPaused returns (bytes32 questionId) {
        _requireBrandOracle(brandId);
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline, block.timestamp);
        questionId = Leaves.questionId(brandId, source, ticketId);
        if (_questions[questionId].status != QuestionStatus.None) revert QuestionAlreadyPosted(questionId);
        _escrow(brandId, bounty);
        _questions[questionId] =
            Question({brandId: brandId, deadline: deadline, status: QuestionStatus.Open, bounty: bounty});
        emit QuestionPosted(questionId, brandId, topic, source, ticketId, bounty, deadline, contentDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function expireQuestion(bytes32 questionId) external whenNotPaused {
        Question storage q = _requireOpenQuestion(questionId);
        if (block.timestamp <= q.deadline) revert QuestionNotExpired(questionId, q.deadline);
        q.status = QuestionStatus.Expired;
        uint128 bounty = q.bounty;
        _refund(q.brandId, bounty);
        emit QuestionExpired(questionId, q.brandId, bounty);
    }

    /// @inheritdoc IPeerCareLedger
    function postQuestionBatch(
        uint64 brandId,
        bytes32 batchRoot,
        uint32 size,
        uint128 totalBounty,
        uint48 deadline,
        bytes32 manifestDigest
    ) external whenNotPaused {
        _requireBrandOracle(brandId);
        if (batchRoot == bytes32(0) || size == 0) revert EmptyBatch();
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline, block.timestamp);
        bytes32 key = _batchKey(brandId, batchRoot);
        if (_questionBatches[key].size != 0) revert QuestionBatchAlreadyPosted(brandId, batchRoot);
        _escrow(brandId, totalBounty);
        _questionBatches[key] = QuestionBatch({escrowed: totalBounty, deadline: deadline, size: size, released: false});
        emit QuestionBatchPosted(brandId, batchRoot, size, totalBounty, deadline, manifestDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function releaseQuestionBatch(uint64 brandId, bytes32 batchRoot) external whenNotPaused {
        (, QuestionBatch storage batch) = _requireQuestionBatch(brandId, batchRoot);
        if (batch.released) revert QuestionBatchAlreadyReleased(brandId, batchRoot);
        if (block.timestamp <= batch.deadline) revert QuestionBatchNotExpired(brandId, batchRoot, batch.deadline);
        uint128 refunded = batch.escrowed;
        batch.escrowed = 0;
        batch.released = true;
        _refund(brandId, refunded);
        emit QuestionBatchReleased(brandId, batchRoot, refunded);
    }

    /// @inheritdoc IPeerCareLedger
    /// @dev No pause check: the bounty stays in the pool's escrow (from the batch's to the
    /// question's), and opening is what lets advocates answer a batched question directly.
    function openBatchedQuestion(QuestionRef calldata question, bytes32 source, string calldata ticketId) external {
        bytes32 questionId = question.questionId;
        // Question ids are one namespace for all brands: a batch of one brand must not occupy the
        // id of another brand's ticket, which `postQuestion` would then refuse for ever.
        bytes32 ticketQuestionId = Leaves.questionId(question.brandId, source, ticketId);
        if (ticketQuestionId != questionId) revert QuestionIdMismatch(questionId, ticketQuestionId);
        if (_questions[questionId].status != QuestionStatus.None) revert QuestionAlreadyPosted(questionId);
        uint48 deadline = _settleBatchedQuestion(question);
        _questions[questionId] = Question({
            brandId: question.brandId,
            deadline: deadline,
            status: QuestionStatus.Open,
            bounty: question.bounty
        });
        emit BatchedQuestionOpened(questionId, question.brandId, question.batchRoot, question.index);
    }

    // ---------------------------------------------------------------- answers

    /// @inheritdoc IPeerCareLedger
    function submitAnswer(bytes32 questionId, bytes32 contentDigest) external returns (bytes32) {
        return _recordAnswer(questionId, msg.sender, contentDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function submitAnswerWithSig(SignedAnswer calldata answer, bytes calldata signature) external returns (bytes32) {
        if (block.timestamp > answer.deadline) revert SignatureExpired(answer.deadline);
        // ECDSA.recover refuses malleable (high-s) signatures; the domain binds chain and contract.
        address signer = ECDSA.recover(_signedAnswerDigest(answer), signature);
        if (signer != answer.advocate) revert InvalidAnswerSigner(answer.advocate, signer);
        _useCheckedNonce(answer.advocate, answer.nonce);
        return _recordAnswer(answer.questionId, answer.advocate, answer.contentDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function anchorAnswerBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external {
        _requireBrandOracle(brandId);
        if (batchRoot == bytes32(0) || size == 0) revert EmptyBatch();
        bytes32 key = _batchKey(brandId, batchRoot);
        if (_batches[key].size != 0) revert BatchAlreadyAnchored(brandId, batchRoot);
        _batches[key] = AnswerBatch({brandId: brandId, size: size, anchoredAt: uint48(block.timestamp)});
        emit AnswerBatchAnchored(brandId, batchRoot, size, manifestDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function anchorRoutingBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external {
        _requireBrandOracle(brandId);
        if (batchRoot == bytes32(0) || size == 0) revert EmptyBatch();
        emit RoutingBatchAnchored(brandId, batchRoot, size, manifestDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function anchorRatingBatch(uint64 brandId, bytes32 batchRoot, uint32 size, bytes32 manifestDigest) external {
        _requireBrandOracle(brandId);
        if (batchRoot == bytes32(0) || size == 0) revert EmptyBatch();
        emit RatingBatchAnchored(brandId, batchRoot, size, manifestDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function rateAnswer(AnswerRef calldata answer, uint8 rating, RaterKind raterKind, bytes32 raterId) external {
        if (rating < 1 || rating > 5) revert InvalidRating(rating);
        Question storage q = _requireQuestion(answer.questionId);
        _requireBrandOracle(q.brandId);
        bytes32 answerId = _requireAnswer(answer, q.brandId);
        bytes32 key = keccak256(abi.encode(answerId, raterKind, raterId));
        if (_ratings[key]) revert AlreadyRated(answerId, raterKind, raterId);
        _ratings[key] = true;
        emit AnswerRated(answerId, answer.questionId, answer.advocate, rating, raterKind, raterId);
    }

    /// @inheritdoc IPeerCareLedger
    function acceptAnswer(AnswerRef calldata answer) external {
        (IERC20 token, uint128 bounty) = _accept(answer);
        _credit(answer.advocate, token, answer.questionId, bounty);
    }

    /// @inheritdoc IPeerCareLedger
    function acceptAnswerWithSwarm(AnswerRef calldata answer, Share[] calldata shares) external {
        SwarmSplit.validate(shares, address(this));
        (IERC20 token, uint128 bounty) = _accept(answer);
        _creditSwarm(answer, shares, token, bounty);
    }

    /// @inheritdoc IPeerCareLedger
    function acceptBatchedAnswer(QuestionRef calldata question, AnswerRef calldata answer) external {
        _acceptBatchedWhole(question, answer);
    }

    /// @inheritdoc IPeerCareLedger
    function acceptBatchedAnswerWithSwarm(
        QuestionRef calldata question,
        AnswerRef calldata answer,
        Share[] calldata shares
    ) external {
        _acceptBatchedSwarm(question, answer, shares);
    }

    /// @inheritdoc IPeerCareLedger
    /// @dev No pause check, as `acceptBatchedAnswer`. Each acceptance runs the very code of the
    /// single ones; only the transaction and the cold storage reads are shared.
    function acceptBatchedAnswers(BatchedAcceptance[] calldata acceptances) external {
        uint256 count = acceptances.length;
        if (count == 0) revert EmptyBatch();
        for (uint256 i; i < count; ++i) {
            BatchedAcceptance calldata acceptance = acceptances[i];
            if (acceptance.shares.length == 0) {
                _acceptBatchedWhole(acceptance.question, acceptance.answer);
            } else {
                _acceptBatchedSwarm(acceptance.question, acceptance.answer, acceptance.shares);
            }
        }
    }

    /// @inheritdoc IPeerCareLedger
    function withdrawEarnings(IERC20 token, address to) external whenNotPaused nonReentrant returns (uint256 amount) {
        return _withdraw(msg.sender, token, to);
    }

    /// @inheritdoc IPeerCareLedger
    function withdrawEarningsWithSig(SignedWithdrawal calldata withdrawal, bytes calldata signature)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 amount)
    {
        if (block.timestamp > withdrawal.deadline) revert SignatureExpired(withdrawal.deadline);
        // ECDSA.recover refuses malleable (high-s) signatures; the domain binds chain and contract.
        address signer = ECDSA.recover(_signedWithdrawalDigest(withdrawal), signature);
        if (signer != withdrawal.account) revert InvalidWithdrawalSigner(withdrawal.account, signer);
        _useCheckedNonce(withdrawal.account, withdrawal.nonce);
        return _withdraw(withdrawal.account, withdrawal.token, withdrawal.to);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPeerCareLedger
    function isTokenAllowed(IERC20 token) external view returns (bool) {
        return _allowedTokens[token];
    }

    /// @inheritdoc IPeerCareLedger
    function brandCount() external view returns (uint64) {
        return _brandCount;
    }

    /// @inheritdoc IPeerCareLedger
    function brand(uint64 brandId) external view returns (Brand memory) {
        return _requireBrand(brandId);
    }

    /// @inheritdoc IPeerCareLedger
    function isBrandOracle(uint64 brandId, address account) external view returns (bool) {
        return _brandOracles[brandId][account];
    }

    /// @inheritdoc IPeerCareLedger
    function pool(uint64 brandId) external view returns (Pool memory) {
        _requireBrand(brandId);
        return _pools[brandId];
    }

    /// @inheritdoc IPeerCareLedger
    function question(bytes32 questionId) external view returns (Question memory) {
        return _requireQuestion(questionId);
    }

    /// @inheritdoc IPeerCareLedger
    function answerBatch(uint64 brandId, bytes32 batchRoot) external view returns (AnswerBatch memory batch) {
        batch = _batches[_batchKey(brandId, batchRoot)];
        if (batch.size == 0) revert UnknownBatch(brandId, batchRoot);
    }

    /// @inheritdoc IPeerCareLedger
    function questionBatch(uint64 brandId, bytes32 batchRoot) external view returns (QuestionBatch memory) {
        (, QuestionBatch storage batch) = _requireQuestionBatch(brandId, batchRoot);
        return batch;
    }

    /// @inheritdoc IPeerCareLedger
    function isBatchedQuestionOpen(QuestionRef calldata question) external view returns (bool) {
        bytes32 key = _batchKey(question.brandId, question.batchRoot);
        QuestionBatch storage batch = _questionBatches[key];
        return batch.size != 0 && !batch.released && block.timestamp <= batch.deadline
            && !_isSettled(key, question.index) && _isQuestionLeaf(question, batch.size);
    }

    /// @inheritdoc IPeerCareLedger
    function isBatchedQuestionSettled(uint64 brandId, bytes32 batchRoot, uint32 index) external view returns (bool) {
        return _isSettled(_batchKey(brandId, batchRoot), index);
    }

    /// @inheritdoc IPeerCareLedger
    function earnings(address account, IERC20 token) external view returns (uint256) {
        return _earnings[account][token];
    }

    /// @inheritdoc IPeerCareLedger
    function isAnswerRecorded(AnswerRef calldata answer) external view returns (bool) {
        Question storage q = _questions[answer.questionId];
        if (q.status == QuestionStatus.None) return false;
        return _isAnswerRecorded(q.brandId, answer);
    }

    /// @inheritdoc IPeerCareLedger
    function isAnswerRecordedFor(uint64 brandId, AnswerRef calldata answer) external view returns (bool) {
        return _isAnswerRecorded(brandId, answer);
    }

    /// @inheritdoc IPeerCareLedger
    function isRated(bytes32 answerId, RaterKind raterKind, bytes32 raterId) external view returns (bool) {
        return _ratings[keccak256(abi.encode(answerId, raterKind, raterId))];
    }

    /// @inheritdoc IPeerCareLedger
    function isAnswerSignatureValid(SignedAnswer calldata answer, bytes calldata signature)
        external
        view
        returns (bool)
    {
        (address signer, ECDSA.RecoverError error, bytes32 errorArg) =
            ECDSA.tryRecover(_signedAnswerDigest(answer), signature);
        // errorArg is zero whenever error is NoError; checking both reads every value returned.
        return error == ECDSA.RecoverError.NoError && errorArg == bytes32(0) && signer == answer.advocate
            && signer != address(0);
    }

    /// @inheritdoc IPeerCareLedger
    function signedAnswerDigest(SignedAnswer calldata answer) external view returns (bytes32) {
        return _signedAnswerDigest(answer);
    }

    /// @inheritdoc IPeerCareLedger
    function signedWithdrawalDigest(SignedWithdrawal calldata withdrawal) external view returns (bytes32) {
        return _signedWithdrawalDigest(withdrawal);
    }

    /// @inheritdoc IPeerCareLedger
    function questionIdOf(uint64 brandId, bytes32 source, string calldata ticketId) external pure returns (bytes32) {
        return Leaves.questionId(brandId, source, ticketId);
    }

    /// @inheritdoc IPeerCareLedger
    function answerIdOf(bytes32 questionId, address advocate, bytes32 contentDigest) external pure returns (bytes32) {
        return Leaves.answerId(questionId, advocate, contentDigest);
    }

    /// @inheritdoc IPeerCareLedger
    function questionLeafOf(bytes32 questionId, uint32 index, bytes32 topic, uint128 bounty, bytes32 contentDigest)
        external
        pure
        returns (bytes32)
    {
        return Leaves.questionLeaf(questionId, index, topic, bounty, contentDigest);
    }

    /// @notice The EIP-712 domain separator of this contract on this chain.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _setBrandOracle(uint64 brandId, address oracle, bool enabled) private {
        if (oracle == address(0)) revert ZeroAddress();
        _brandOracles[brandId][oracle] = enabled;
        emit BrandOracleSet(brandId, oracle, enabled);
    }

    function _deposit(uint64 brandId, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        IERC20 token = _requireBrand(brandId).token;
        if (!_allowedTokens[token]) revert TokenNotAllowed(address(token));
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert DeliveredAmountMismatch(address(token), amount, received);
        Pool storage pool_ = _pools[brandId];
        if (uint256(pool_.available) + pool_.escrowed + amount > type(uint128).max) revert PoolOverflow(brandId);
        // Cannot overflow: checked just above.
        unchecked {
            pool_.available += uint128(amount);
        }
        emit PoolDeposited(brandId, msg.sender, amount);
    }

    /// @dev Moves `amount` of the brand's pool from available to escrowed.
    function _escrow(uint64 brandId, uint128 amount) private {
        Pool storage pool_ = _pools[brandId];
        if (amount > pool_.available) revert InsufficientPoolBalance(brandId, pool_.available, amount);
        // Cannot overflow or underflow: amount <= available, and escrowed + available is bounded
        // by the total deposited, which _deposit keeps below 2^128.
        unchecked {
            pool_.available -= amount;
            pool_.escrowed += amount;
        }
    }

    /// @dev Moves `amount` of the brand's pool from escrowed back to available.
    function _refund(uint64 brandId, uint128 amount) private {
        Pool storage pool_ = _pools[brandId];
        // Cannot overflow or underflow: `amount` is what a question or a batch still escrows, which
        // `_escrow` moved from available to escrowed, and the sum of both is below 2^128.
        unchecked {
            pool_.escrowed -= amount;
            pool_.available += amount;
        }
    }

    function _recordAnswer(bytes32 questionId, address advocate, bytes32 contentDigest) private returns (bytes32) {
        Question storage q = _requireOpenQuestion(questionId);
        if (block.timestamp > q.deadline) revert QuestionDeadlinePassed(questionId, q.deadline);
        bytes32 answerId = Leaves.answerId(questionId, advocate, contentDigest);
        if (_directAnswers[answerId] != 0) revert AnswerAlreadyRecorded(answerId);
        _directAnswers[answerId] = block.timestamp;
        emit AnswerRecorded(questionId, advocate, contentDigest);
        return answerId;
    }

    /// @dev Checks acceptance (oracle, open, before deadline, answer recorded), closes the question
    /// and releases its escrow; the caller credits the bounty.
    function _accept(AnswerRef calldata answer) private returns (IERC20 token, uint128 bounty) {
        Question storage q = _requireOpenQuestion(answer.questionId);
        uint64 brandId = q.brandId;
        _requireBrandOracle(brandId);
        if (block.timestamp > q.deadline) revert QuestionDeadlinePassed(answer.questionId, q.deadline);
        bytes32 answerId = _requireAnswer(answer, brandId);
        q.status = QuestionStatus.Accepted;
        bounty = q.bounty;
        token = _releaseAccepted(brandId, answer, answerId, bounty);
    }

    /// @dev `_accept` for a batched question: checks the oracle, that the answer is to this
    /// question and recorded, then settles the question in its batch (which checks the batch's
    /// escrow covers the bounty) and releases the bounty; the caller credits it.
    function _acceptBatched(QuestionRef calldata question, AnswerRef calldata answer)
        private
        returns (IERC20 token, uint128 bounty)
    {
        uint64 brandId = question.brandId;
        _requireBrandOracle(brandId);
        if (answer.questionId != question.questionId) {
            revert AnswerOfAnotherQuestion(question.questionId, answer.questionId);
        }
        bytes32 answerId = _requireAnswer(answer, brandId);
        _settleBatchedQuestion(question);
        emit BatchedQuestionAccepted(question.questionId, brandId, question.batchRoot, question.index);
        bounty = question.bounty;
        token = _releaseAccepted(brandId, answer, answerId, bounty);
    }

    /// @dev `acceptBatchedAnswer`: the whole bounty to the answer's advocate.
    function _acceptBatchedWhole(QuestionRef calldata question, AnswerRef calldata answer) private {
        (IERC20 token, uint128 bounty) = _acceptBatched(question, answer);
        _credit(answer.advocate, token, answer.questionId, bounty);
    }

    /// @dev `acceptBatchedAnswerWithSwarm`: the shares checked before anything moves, then the
    /// bounty split across the swarm.
    function _acceptBatchedSwarm(QuestionRef calldata question, AnswerRef calldata answer, Share[] calldata shares)
        private
    {
        SwarmSplit.validate(shares, address(this));
        (IERC20 token, uint128 bounty) = _acceptBatched(question, answer);
        _creditSwarm(answer, shares, token, bounty);
    }

    /// @dev Releases an accepted answer's bounty from its pool's escrow and records the acceptance;
    /// returns the pool's token, in which the caller credits the bounty.
    function _releaseAccepted(uint64 brandId, AnswerRef calldata answer, bytes32 answerId, uint128 bounty)
        private
        returns (IERC20)
    {
        // Cannot underflow: the pool's escrow holds the bounty, as the question's own (posted or
        // opened) or as part of its batch's, which `_settleBatchedQuestion` checked covers it.
        unchecked {
            _pools[brandId].escrowed -= bounty;
        }
        emit AnswerAccepted(answer.questionId, answerId, answer.advocate, bounty);
        return _brands[brandId].token;
    }

    /// @dev Checks that the question is a leaf of a posted batch of its brand (below the batch's
    /// size), not settled, before the batch's deadline and covered by what the batch still
    /// escrows; then sets its settled bit and takes its bounty out of the batch's escrow (the
    /// bounty stays in the pool's escrow: the caller releases it or gives it to the question).
    function _settleBatchedQuestion(QuestionRef calldata question) private returns (uint48 deadline) {
        (bytes32 key, QuestionBatch storage batch) = _requireQuestionBatch(question.brandId, question.batchRoot);
        if (!_isQuestionLeaf(question, batch.size)) {
            revert InvalidQuestionProof(question.questionId, question.batchRoot);
        }
        uint256 word = question.index >> 8;
        uint256 bit = 1 << (question.index & 0xff);
        uint256 bits = _settledQuestions[key][word];
        if (bits & bit != 0) revert BatchedQuestionSettled(question.questionId, question.batchRoot, question.index);
        deadline = batch.deadline;
        if (block.timestamp > deadline) revert QuestionDeadlinePassed(question.questionId, deadline);
        uint128 escrowed = batch.escrowed;
        uint128 bounty = question.bounty;
        // Checked, so that a manifest whose leaves add up to more than the batch escrowed can never
        // release more than that, nor touch the escrow of another batch or question.
        if (bounty > escrowed) revert BatchEscrowExceeded(question.brandId, question.batchRoot, escrowed, bounty);
        _settledQuestions[key][word] = bits | bit;
        // Cannot underflow: checked just above.
        unchecked {
            batch.escrowed = escrowed - bounty;
        }
    }

    /// @dev Credits a swarm its shares of the bounty, floored, and the answer's advocate the rest.
    function _creditSwarm(AnswerRef calldata answer, Share[] calldata shares, IERC20 token, uint128 bounty) private {
        uint256 paid = 0;
        for (uint256 i; i < shares.length; ++i) {
            uint256 amount = SwarmSplit.amountOf(bounty, shares[i].bps);
            paid += amount;
            _credit(shares[i].account, token, answer.questionId, amount);
        }
        // Cannot underflow: each amount is floored, so their sum is at most the bounty.
        unchecked {
            _credit(answer.advocate, token, answer.questionId, bounty - paid);
        }
    }

    function _credit(address account, IERC20 token, bytes32 questionId, uint256 amount) private {
        if (amount == 0) return;
        _earnings[account][token] += amount;
        emit RewardCredited(account, address(token), questionId, amount);
    }

    /// @dev Pays `account` everything it earned in `token`, to `to`: state zeroed before the transfer.
    function _withdraw(address account, IERC20 token, address to) private returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        amount = _earnings[account][token];
        if (amount == 0) revert NothingToWithdraw(account, address(token));
        _earnings[account][token] = 0;
        emit EarningsWithdrawn(account, address(token), to, amount);
        token.safeTransfer(to, amount);
    }

    function _requireAnswer(AnswerRef calldata answer, uint64 brandId) private view returns (bytes32 answerId) {
        answerId = Leaves.answerId(answer.questionId, answer.advocate, answer.contentDigest);
        if (answer.batchRoot == bytes32(0)) {
            if (_directAnswers[answerId] == 0) revert UnknownAnswer(answerId);
            return answerId;
        }
        // Under the question's brand only: a root anchored by another brand is not found here.
        if (_batches[_batchKey(brandId, answer.batchRoot)].size == 0) revert UnknownBatch(brandId, answer.batchRoot);
        // A leaf naming nobody could be accepted and its bounty credited to the zero address, for ever.
        if (answer.advocate == address(0)) revert ZeroAdvocate(answerId);
        if (!MerkleProof.verifyCalldata(answer.proof, answer.batchRoot, Leaves.answerLeaf(answerId))) {
            revert InvalidAnswerProof(answerId, answer.batchRoot);
        }
    }

    /// @dev `_requireAnswer`'s checks as a view: recorded directly, or proven in a batch of `brandId`.
    function _isAnswerRecorded(uint64 brandId, AnswerRef calldata answer) private view returns (bool) {
        bytes32 answerId = Leaves.answerId(answer.questionId, answer.advocate, answer.contentDigest);
        if (answer.batchRoot == bytes32(0)) return _directAnswers[answerId] != 0;
        return answer.advocate != address(0) && _batches[_batchKey(brandId, answer.batchRoot)].size != 0
            && MerkleProof.verifyCalldata(answer.proof, answer.batchRoot, Leaves.answerLeaf(answerId));
    }

    /// @dev A batch is the brand's own: the same root anchored by two brands is two batches.
    function _batchKey(uint64 brandId, bytes32 batchRoot) private pure returns (bytes32) {
        return keccak256(abi.encode(brandId, batchRoot));
    }

    function _requireQuestionBatch(uint64 brandId, bytes32 batchRoot)
        private
        view
        returns (bytes32 key, QuestionBatch storage batch)
    {
        key = _batchKey(brandId, batchRoot);
        batch = _questionBatches[key];
        if (batch.size == 0) revert UnknownQuestionBatch(brandId, batchRoot);
    }

    /// @dev Whether the proof places the question's leaf in its batch, at an index below `size`.
    function _isQuestionLeaf(QuestionRef calldata question, uint32 size) private pure returns (bool) {
        return question.index < size
            && MerkleProof.verifyCalldata(
                question.proof,
                question.batchRoot,
                Leaves.questionLeaf(
                    question.questionId, question.index, question.topic, question.bounty, question.contentDigest
                )
            );
    }

    function _isSettled(bytes32 key, uint32 index) private view returns (bool) {
        return _settledQuestions[key][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    function _requireBrand(uint64 brandId) private view returns (Brand storage b) {
        b = _brands[brandId];
        if (b.admin == address(0)) revert UnknownBrand(brandId);
    }

    function _requireBrandAdmin(uint64 brandId) private view {
        if (_requireBrand(brandId).admin != msg.sender) revert NotBrandAdmin(brandId, msg.sender);
    }

    function _requireBrandOracle(uint64 brandId) private view {
        if (!_brandOracles[brandId][msg.sender]) revert NotBrandOracle(brandId, msg.sender);
    }

    function _requireQuestion(bytes32 questionId) private view returns (Question storage q) {
        q = _questions[questionId];
        if (q.status == QuestionStatus.None) revert UnknownQuestion(questionId);
    }

    function _requireOpenQuestion(bytes32 questionId) private view returns (Question storage q) {
        q = _requireQuestion(questionId);
        if (q.status != QuestionStatus.Open) revert QuestionNotOpen(questionId, q.status);
    }

    function _signedAnswerDigest(SignedAnswer calldata answer) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(SIGNED_ANSWER_TYPEHASH, answer.questionId, answer.contentDigest, answer.nonce, answer.deadline)
            )
        );
    }

    function _signedWithdrawalDigest(SignedWithdrawal calldata withdrawal) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SIGNED_WITHDRAWAL_TYPEHASH,
                    withdrawal.account,
                    withdrawal.token,
                    withdrawal.to,
                    withdrawal.nonce,
                    withdrawal.deadline
                )
            )
        );
    }
}
