import { account, TronTestChain, type TxSpec } from "./chain.js";

const USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";

/**
 * A synthetic chain with a mainnet-like mix per block (USDT-TRC20 dominates Tron traffic):
 * 60% USDT transfers, 23% TRX, 3% TRC-10, 7% reverted USDT calls, 7% calls with internal TRX.
 * Senders and receivers are drawn from `accounts` synthetic addresses.
 */
export function workloadChain(opts: {
  from: number;
  blocks: number;
  txsPerBlock: number;
  accounts?: number;
}) {
  const pool = Array.from({ length: opts.accounts ?? 5_000 }, (_, i) => account(`acct${i}`));
  const contract = account("router");
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const pick = () => pool[rnd() % pool.length] as string;
  const chain = new TronTestChain("bench");
  for (let b = 0; b < opts.blocks; b++) {
    const txs: TxSpec[] = [];
    for (let i = 0; i < opts.txsPerBlock; i++) {
      const r = (i * 100) / opts.txsPerBlock;
      if (r < 60)
        txs.push({
          kind: "trc20",
          from: pick(),
          token: USDT_HEX,
          to: pick(),
          amount: BigInt(1 + (rnd() % 1e9)),
        });
      else if (r < 83)
        txs.push({ kind: "trx", from: pick(), to: pick(), amount: 1 + (rnd() % 1e9) });
      else if (r < 86)
        txs.push({
          kind: "trc10",
          from: pick(),
          to: pick(),
          assetId: "1002000",
          amount: 1 + (rnd() % 1e6),
        });
      else if (r < 93)
        txs.push({
          kind: "trc20",
          from: pick(),
          token: USDT_HEX,
          to: pick(),
          amount: 5n,
          failed: true,
        });
      else {
        txs.push({
          kind: "call",
          from: pick(),
          contract,
          callValue: 1 + (rnd() % 1e6),
          internal: [{ from: contract, to: pick(), value: 1 + (rnd() % 1e6) }],
        });
      }
    }
    chain.add(txs, b === 0 ? { number: opts.from } : {});
  }
  chain.solidify(chain.head);
  return chain;
}
