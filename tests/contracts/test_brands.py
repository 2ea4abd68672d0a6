"""Brands: registration, admin hand-over, oracle signers, the token allow-list and the brand views."""

import brownie
import pytest
from conftest import TOPIC, ZENDESK, deadline_in, digest
from errors import ZERO_ADDRESS, custom_error, direct_answer, hexstr
from eth_utils import keccak

DEFAULT_ADMIN_ROLE = b"\0" * 32


@pytest.fixture(scope="module")
def other_token(PeerCareToken, admin):
    """A second token, never put on the allow-list."""
    return PeerCareToken.deploy("Other", "OTH", admin, {"from": admin})


def test_register_brand_records_admin_token_and_oracles(ledger, admin, token, brand_admin, oracle, advocate, stranger):
    tx = ledger.registerBrand(brand_admin, token, [oracle, advocate], {"from": admin})

    brand_id = tx.return_value
    assert brand_id == ledger.brandCount()
    assert tx.events["BrandRegistered"] == {"brandId": brand_id, "admin": brand_admin, "token": token}
    assert [dict(e) for e in tx.events["BrandOracleSet"]] == [
        {"brandId": brand_id, "oracle": oracle, "enabled": True},
        {"brandId": brand_id, "oracle": advocate, "enabled": True},
    ]
    assert ledger.brand(brand_id) == (brand_admin, token)
    assert ledger.isBrandOracle(brand_id, oracle)
    assert ledger.isBrandOracle(brand_id, advocate)
    assert not ledger.isBrandOracle(brand_id, stranger)
    assert tuple(ledger.pool(brand_id)) == (0, 0)


def test_register_brand_without_oracles_is_allowed(ledger, admin, token, brand_admin):
    tx = ledger.registerBrand(brand_admin, token, [], {"from": admin})

    assert "BrandOracleSet" not in tx.events
    assert ledger.brand(tx.return_value) == (brand_admin, token)


def test_brand_ids_count_up_from_one(PeerCareLedger, token, admin, pauser, brand_admin):
    ledger = PeerCareLedger.deploy(admin, pauser, {"from": admin})
    ledger.setTokenAllowed(token, True, {"from": admin})
    ledger.grantRole(ledger.BRAND_REGISTRAR_ROLE(), admin, {"from": admin})
    assert ledger.brandCount() == 0

    first = ledger.registerBrand(brand_admin, token, [], {"from": admin}).return_value
    second = ledger.registerBrand(brand_admin, token, [], {"from": admin}).return_value

    assert (first, second) == (1, 2)
    assert ledger.brandCount() == 2


# ---------------------------------------------------------------- admission


def test_brand_registration_is_admitted_by_the_registrar_only(ledger, token, admin, brand_admin, stranger, oracle):
    """Attack: an unfunded stranger registers a brand in an allow-listed token, names itself its
    oracle and mints acceptances and ratings that reputation counts. Registration is admitted."""
    role = keccak(text="BRAND_REGISTRAR_ROLE")
    brands = ledger.brandCount()
    for account in (stranger, brand_admin, oracle):
        with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", account, role)):
            ledger.registerBrand(account, token, [account], {"from": account})
    assert ledger.brandCount() == brands
    assert ledger.BRAND_REGISTRAR_ROLE() == hexstr(role)
    assert ledger.getRoleAdmin(role) == hexstr(DEFAULT_ADMIN_ROLE)


def test_constructor_grants_no_registrar(PeerCareLedger, admin, pauser):
    """Admission is granted deliberately (scripts/deploy.py grants it to the admin), never implied."""
    ledger = PeerCareLedger.deploy(admin, pauser, {"from": admin})

    assert not ledger.hasRole(ledger.BRAND_REGISTRAR_ROLE(), admin)
    assert not ledger.hasRole(ledger.BRAND_REGISTRAR_ROLE(), pauser)


def test_registrar_role_is_granted_and_revoked_by_admin(ledger, token, admin, stranger):
    role = ledger.BRAND_REGISTRAR_ROLE()
    with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", stranger, DEFAULT_ADMIN_ROLE)):
        ledger.grantRole(role, stranger, {"from": stranger})

    ledger.grantRole(role, stranger, {"from": admin})
    brand = ledger.registerBrand(stranger, token, [], {"from": stranger}).return_value
    assert ledger.brand(brand) == (stranger, token)

    ledger.revokeRole(role, stranger, {"from": admin})
    with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", stranger, role)):
        ledger.registerBrand(stranger, token, [], {"from": stranger})


def test_register_brand_refuses_token_not_on_allow_list(ledger, admin, other_token, brand_admin, oracle):
    with brownie.reverts(custom_error(ledger, "TokenNotAllowed", other_token)):
        ledger.registerBrand(brand_admin, other_token, [oracle], {"from": admin})


def test_register_brand_refuses_zero_admin(ledger, admin, token, oracle, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.registerBrand(ZERO_ADDRESS, token, [oracle], {"from": admin})


def test_register_brand_refuses_zero_oracle(ledger, admin, token, oracle, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.registerBrand(brand_admin, token, [oracle, ZERO_ADDRESS], {"from": admin})


# ---------------------------------------------------------------- token allow-list


def test_set_token_allowed_toggles_allow_list(ledger, other_token, admin):
    assert not ledger.isTokenAllowed(other_token)

    tx = ledger.setTokenAllowed(other_token, True, {"from": admin})
    assert tx.events["TokenAllowanceSet"] == {"token": other_token, "allowed": True}
    assert ledger.isTokenAllowed(other_token)

    tx = ledger.setTokenAllowed(other_token, False, {"from": admin})
    assert tx.events["TokenAllowanceSet"] == {"token": other_token, "allowed": False}
    assert not ledger.isTokenAllowed(other_token)


def test_newly_allowed_token_can_back_a_brand(ledger, other_token, admin, brand_admin):
    ledger.setTokenAllowed(other_token, True, {"from": admin})

    brand_id = ledger.registerBrand(brand_admin, other_token, [], {"from": admin}).return_value

    assert ledger.brand(brand_id) == (brand_admin, other_token)


def test_set_token_allowed_by_admin_only(ledger, other_token, stranger, pauser):
    for account in (stranger, pauser):
        with brownie.reverts(custom_error(ledger, "AccessControlUnauthorizedAccount", account, DEFAULT_ADMIN_ROLE)):
            ledger.setTokenAllowed(other_token, True, {"from": account})


def test_set_token_allowed_refuses_zero_token(ledger, admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.setTokenAllowed(ZERO_ADDRESS, True, {"from": admin})


def test_disallowed_token_stops_new_brands_and_deposits(ledger, token, admin, brand_admin, brand_id):
    ledger.setTokenAllowed(token, False, {"from": admin})
    token.mint(brand_admin, 10, {"from": admin})
    token.approve(ledger, 10, {"from": brand_admin})

    with brownie.reverts(custom_error(ledger, "TokenNotAllowed", token)):
        ledger.registerBrand(brand_admin, token, [], {"from": admin})
    with brownie.reverts(custom_error(ledger, "TokenNotAllowed", token)):
        ledger.deposit(brand_id, 10, {"from": brand_admin})
    # Funds already in the pool stay the brand's: it can still take them out.
    ledger.withdrawFromPool(brand_id, 10, brand_admin, {"from": brand_admin})


# ---------------------------------------------------------------- brand admin


def test_set_brand_admin_hands_brand_over(ledger, brand_id, brand_admin, stranger, advocate):
    tx = ledger.setBrandAdmin(brand_id, stranger, {"from": brand_admin})

    assert tx.events["BrandAdminChanged"] == {"brandId": brand_id, "previousAdmin": brand_admin, "newAdmin": stranger}
    assert ledger.brand(brand_id)[0] == stranger
    ledger.setBrandOracle(brand_id, advocate, True, {"from": stranger})
    with brownie.reverts(custom_error(ledger, "NotBrandAdmin", brand_id, brand_admin)):
        ledger.setBrandOracle(brand_id, advocate, False, {"from": brand_admin})


def test_set_brand_admin_by_brand_admin_only(ledger, brand_id, stranger, oracle, admin):
    for account in (stranger, oracle, admin):
        with brownie.reverts(custom_error(ledger, "NotBrandAdmin", brand_id, account)):
            ledger.setBrandAdmin(brand_id, account, {"from": account})


def test_set_brand_admin_refuses_zero_address(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.setBrandAdmin(brand_id, ZERO_ADDRESS, {"from": brand_admin})


def test_set_brand_admin_of_unknown_brand_is_refused(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "UnknownBrand", 99)):
        ledger.setBrandAdmin(99, brand_admin, {"from": brand_admin})


# ---------------------------------------------------------------- brand oracles


def test_set_brand_oracle_enables_a_signer(ledger, brand_id, brand_admin, stranger):
    tx = ledger.setBrandOracle(brand_id, stranger, True, {"from": brand_admin})

    assert tx.events["BrandOracleSet"] == {"brandId": brand_id, "oracle": stranger, "enabled": True}
    assert ledger.isBrandOracle(brand_id, stranger)
    ledger.postQuestion(brand_id, ZENDESK, "T-9", TOPIC, 1, deadline_in(3600), digest("q"), {"from": stranger})


def test_revoked_oracle_loses_access_at_once(ledger, brand_id, brand_admin, oracle, advocate, post_question):
    qid = post_question()
    ledger.submitAnswer(qid, digest("answer"), {"from": advocate})
    answer = direct_answer(qid, advocate, digest("answer"))

    tx = ledger.setBrandOracle(brand_id, oracle, False, {"from": brand_admin})

    assert tx.events["BrandOracleSet"] == {"brandId": brand_id, "oracle": oracle, "enabled": False}
    assert not ledger.isBrandOracle(brand_id, oracle)
    not_oracle = custom_error(ledger, "NotBrandOracle", brand_id, oracle)
    with brownie.reverts(not_oracle):
        ledger.postQuestion(brand_id, ZENDESK, "T-2", TOPIC, 1, deadline_in(3600), digest("q"), {"from": oracle})
    with brownie.reverts(not_oracle):
        ledger.anchorAnswerBatch(brand_id, digest("root"), 1, digest("manifest"), {"from": oracle})
    with brownie.reverts(not_oracle):
        ledger.rateAnswer(answer, 5, 0, digest("customer"), {"from": oracle})
    with brownie.reverts(not_oracle):
        ledger.acceptAnswer(answer, {"from": oracle})
    with brownie.reverts(not_oracle):
        ledger.acceptAnswerWithSwarm(answer, [(advocate, 10_000)], {"from": oracle})


def test_set_brand_oracle_by_brand_admin_only(ledger, brand_id, oracle, stranger):
    for account in (oracle, stranger):
        with brownie.reverts(custom_error(ledger, "NotBrandAdmin", brand_id, account)):
            ledger.setBrandOracle(brand_id, account, True, {"from": account})


def test_set_brand_oracle_of_unknown_brand_is_refused(ledger, brand_id, brand_admin, stranger):
    with brownie.reverts(custom_error(ledger, "UnknownBrand", 2)):
        ledger.setBrandOracle(2, stranger, True, {"from": brand_admin})


def test_set_brand_oracle_refuses_zero_address(ledger, brand_id, brand_admin):
    with brownie.reverts(custom_error(ledger, "ZeroAddress")):
        ledger.setBrandOracle(brand_id, ZERO_ADDRESS, True, {"from": brand_admin})


def test_oracle_of_one_brand_cannot_act_for_another(ledger, admin, token, brand_id, oracle, stranger, brand_admin):
    other = ledger.registerBrand(brand_admin, token, [stranger], {"from": admin}).return_value

    assert not ledger.isBrandOracle(other, oracle)
    with brownie.reverts(custom_error(ledger, "NotBrandOracle", other, oracle)):
        ledger.postQuestion(other, ZENDESK, "T-1", TOPIC, 0, deadline_in(3600), digest("q"), {"from": oracle})


# ---------------------------------------------------------------- views


def test_brand_views_refuse_unknown_brand(ledger, brand_id):
    for unknown in (0, brand_id + 1, 2**64 - 1):
        with brownie.reverts(custom_error(ledger, "UnknownBrand", unknown)):
            ledger.brand(unknown)
        with brownie.reverts(custom_error(ledger, "UnknownBrand", unknown)):
            ledger.pool(unknown)


def test_is_brand_oracle_is_false_for_unknown_brand(ledger, oracle):
    assert not ledger.isBrandOracle(42, oracle)
