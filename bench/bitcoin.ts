/**
 * Bitcoin parsing and address derivation on mainnet block 413567 (999,887 bytes, 1557 txs,
 * 3581 outputs), repeated. Baselines measured in the same run: bitcoinjs-lib Block.fromBuffer
 * and address.fromOutputScript. Usage: npm run bench -- bitcoin [seconds-per-case, default 3]
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import {
  blockTransfers,
  computeMerkleRoot,
  deriveBlockOutputs,
  deriveOutput,
  Networks,
  parseBlock,
} from "@chainscreen/bitcoin";
import { fixturesDir } from "@chainscreen/testing";
import * as bitcoin from "bitcoinjs-lib";
import { rssMb, table } from "./lib.js";

const seconds = Number(process.argv[2] ?? 3);
const raw = readFileSync(join(fixturesDir, "bitcoin", "block413567", "block413567.raw"));
const MB = raw.length / 1e6;

/**
 * Cases run interleaved in short slices (round robin) so that each one sees the same machine
 * load; the result is runs per second per case over all its slices.
 */
function measureAll(cases: Record<string, () => void>): Record<string, number> {
  const names = Object.keys(cases);
  const runs: Record<string, number> = {};
  const ms: Record<string, number> = {};
  for (const n of names) {
    runs[n] = 0;
    ms[n] = 0;
    const warmEnd = performance.now() + 300;
    while (performance.now() < warmEnd) (cases[n] as () => void)();
  }
  const slice = 100;
  const rounds = Math.max(1, Math.round((seconds * 1000) / slice));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const fn = cases[n] as () => void;
      const t0 = performance.now();
      const end = t0 + slice;
      let k = 0;
      while (performance.now() < end) {
        fn();
        k++;
      }
      runs[n] = (runs[n] as number) + k;
      ms[n] = (ms[n] as number) + (performance.now() - t0);
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, (runs[n] as number) / ((ms[n] as number) / 1000)]),
  );
}

const parsed = parseBlock(raw);
const txs = parsed.txs.length;
const jb = bitcoin.Block.fromBuffer(raw);
const scripts = (jb.transactions ?? []).flatMap((t) => t.outs.map((o) => o.script));
const outputs = scripts.length;

// Identity check in the same run: every output, ours vs bitcoinjs-lib.
let mismatches = 0;
let bitcoinjsNoAddress = 0;
let k = 0;
for (const tx of parsed.txs) {
  for (const o of tx.outputs) {
    let ref: string | null = null;
    try {
      ref = bitcoin.address.fromOutputScript(scripts[k] as Uint8Array);
    } catch {
      bitcoinjsNoAddress++;
    }
    const d = deriveOutput(tx.buf, o.scriptOffset, o.scriptLength, Networks.bitcoin);
    if (ref !== null && (d.addresses.length !== 1 || d.addresses[0] !== ref)) mismatches++;
    if (
      ref === null &&
      ["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "witness_unknown"].includes(d.type)
    )
      mismatches++;
    k++;
  }
}

let sink = 0;
const r = measureAll({
  fromBuffer: () => {
    sink += bitcoin.Block.fromBuffer(raw).transactions?.length ?? 0;
  },
  fromOutputScript: () => {
    for (const sc of scripts) {
      try {
        sink += bitcoin.address.fromOutputScript(sc).length;
      } catch {
        sink++;
      }
    }
  },
  derive: () => {
    for (const tx of parsed.txs) {
      for (const o of tx.outputs) {
        sink += deriveOutput(tx.buf, o.scriptOffset, o.scriptLength, Networks.bitcoin).addresses
          .length;
      }
    }
  },
  parse: () => {
    sink += parseBlock(raw).txs.length;
  },
  parseDerive: () => {
    const b = parseBlock(raw);
    sink += deriveBlockOutputs(b, Networks.bitcoin).length;
  },
  full: () => {
    const b = parseBlock(raw);
    if (computeMerkleRoot(b) !== b.header.merkleRoot) throw new Error("merkle root mismatch");
    const d = deriveBlockOutputs(b, Networks.bitcoin);
    sink += blockTransfers(
      b,
      d,
      b.txs.map(() => []),
      { chain: "bitcoin", height: 413567, source: "bench", observedAt: 0 },
    ).transfers.length;
  },
});
const fromBuffer = r.fromBuffer as number;

const row = (name: string, blocksPerSec: number, extra: Record<string, string | number> = {}) => ({
  case: name,
  "MB/s": (blocksPerSec * MB).toFixed(1),
  "tx/s": Math.round(blocksPerSec * txs).toLocaleString("en-US"),
  "outputs/s": Math.round(blocksPerSec * outputs).toLocaleString("en-US"),
  "vs fromBuffer": `${((blocksPerSec / fromBuffer) * 100).toFixed(0)}%`,
  ...extra,
});

console.log(
  `block 413567: ${raw.length} bytes, ${txs} txs, ${outputs} outputs; ${seconds}s per case, interleaved`,
);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} on ${cpus().length} CPUs (figures scale with it; compare rows, not runs)`,
);
console.log(
  `identity vs address.fromOutputScript: ${mismatches} mismatches over ${outputs} outputs (${bitcoinjsNoAddress} without a bitcoinjs address)`,
);
table([
  row("bitcoinjs Block.fromBuffer (baseline)", fromBuffer),
  row("bitcoinjs address.fromOutputScript (baseline)", r.fromOutputScript as number),
  row("ours: derive addresses (target ≥ 1M outputs/s)", r.derive as number),
  row("ours: parse (txids included)", r.parse as number),
  row("ours: parse + derive (target ≥ 60%)", r.parseDerive as number),
  row("ours: parse + merkle + derive + transfer.v1", r.full as number),
]);
console.log(
  `derive: ${(1e9 / ((r.derive as number) * outputs)).toFixed(0)} ns/output, ${((r.derive as number) / (r.fromOutputScript as number)).toFixed(1)}x address.fromOutputScript`,
);
console.log(`rss ${rssMb()} MB${sink === -1 ? "" : ""}`);
