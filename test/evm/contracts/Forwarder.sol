// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Moves ETH through internal calls: the value of these calls shows only in traces.
contract Forwarder {
    /// Forwards msg.value to `to` in one internal call.
    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }

    /// Splits msg.value equally over `tos` (one internal call each).
    function split(address payable[] calldata tos) external payable {
        uint256 each = msg.value / tos.length;
        for (uint256 i = 0; i < tos.length; i++) {
            (bool ok, ) = tos[i].call{value: each}("");
            require(ok, "split failed");
        }
    }

    /// Sends value into a call that reverts, catches the revert and keeps the ETH: the reverted
    /// frame carries value in the trace but moves nothing.
    function tryFail(address payable to) external payable {
        try this.alwaysReverts{value: msg.value}(to) {} catch {}
    }

    function alwaysReverts(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "inner");
        revert("always");
    }

    receive() external payable {}
}
