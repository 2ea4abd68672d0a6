// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Test-only stablecoin with 6 decimals (like USDC and USDT), to prove the ledger pays exact
/// units whatever the token's precision. Anyone may mint.
contract SixDecimalToken is ERC20 {
    constructor() ERC20("Six Decimal Dollar", "SIXD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
