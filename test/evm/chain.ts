import { readFileSync } from "node:fs";
import { join } from "node:path";
import { blockScopedId } from "@chainscreen/ingest";
import { waitFor } from "@chainscreen/testing";
import { ethers } from "ethers";
import type { Anvil } from "./anvil.js";

const compiled = JSON.parse(
  readFileSync(join(import.meta.dirname, "contracts", "contracts.sol.json"), "utf8"),
) as Record<string, { abi: ethers.InterfaceAbi; bytecode: string }>;

/** ABI + bytecode of the test contracts (compiled by contracts/compile.ts with solc). */
export const contracts = {
  token: compiled.TestToken as { abi: ethers.InterfaceAbi; bytecode: string },
  forwarder: compiled.Forwarder as { abi: ethers.InterfaceAbi; bytecode: string },
};

/** ethers provider + anvil's first account as signer. */
export async function wallet(anvil: Anvil) {
  const provider = new ethers.JsonRpcProvider(anvil.url, undefined, {
    staticNetwork: true,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  provider.pollingInterval = 50;
  const signer = await provider.getSigner(0);
  return { provider, signer };
}

/** Deploys TestToken (symbol TT, 6 decimals) and Forwarder. */
export async function deploy(signer: ethers.Signer, supply = 10n ** 15n) {
  const tf = new ethers.ContractFactory(contracts.token.abi, contracts.token.bytecode, signer);
  const token = await tf.deploy("Test Token", "TT", 6, supply);
  await token.waitForDeployment();
  const ff = new ethers.ContractFactory(
    contracts.forwarder.abi,
    contracts.forwarder.bytecode,
    signer,
  );
  const forwarder = await ff.deploy();
  await forwarder.waitForDeployment();
  return {
    token: token as unknown as ethers.Contract,
    forwarder: forwarder as unknown as ethers.Contract,
    tokenAddress: (await token.getAddress()).toLowerCase(),
    forwarderAddress: (await forwarder.getAddress()).toLowerCase(),
    tokenDeployTx: token.deploymentTransaction()?.hash as string,
  };
}

/** A transfer as the test expects it (independent of the ingester). */
export interface Expected {
  kind: "native" | "token" | "internal";
  from: string;
  to: string;
  amount: string;
  contract: string | null;
  txHash: string;
}

/** Comparable key of a transfer. */
export const expKey = (e: Expected) =>
  [e.kind, e.txHash, e.from, e.to, e.amount, e.contract ?? "-"].join("|");

/** Block-scoped ids of every transfer of blocks from..to according to a fresh extraction. */
export async function oracleIds(
  source: {
    blocks(
      from: number,
      to: number,
    ): Promise<{ ref: { hash: string }; transfers: { id: string }[] }[]>;
  },
  from: number,
  to: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let s = from; s <= to; s += 50) {
    for (const b of await source.blocks(s, Math.min(to, s + 49))) {
      for (const t of b.transfers) ids.push(blockScopedId(t.id, b.ref.hash));
    }
  }
  return ids.sort();
}

/**
 * Sends `n` plain ETH transfers between anvil's default accounts (automine: one block each) and
 * returns once the last one is mined: anvil may answer eth_sendTransaction before the block that
 * holds it is visible (a test read the head one block short right after sending).
 */
export async function sendEthTransfers(anvil: Anvil, n: number, from = 0): Promise<string[]> {
  const accounts = await anvil.rpc<string[]>("eth_accounts");
  const hashes: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = accounts[(from + i) % accounts.length] as string;
    const b = accounts[(from + i + 1) % accounts.length] as string;
    hashes.push(
      await anvil.rpc<string>("eth_sendTransaction", [
        { from: a, to: b, value: `0x${(1000 + i).toString(16)}` },
      ]),
    );
  }
  const last = hashes.at(-1);
  if (last)
    await waitFor(() => anvil.rpc<unknown>("eth_getTransactionReceipt", [last]), {
      timeoutMs: 30_000,
      intervalMs: 20,
      message: `transaction ${last} not mined`,
    });
  return hashes;
}
