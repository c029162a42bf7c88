import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { repoRoot } from "@chainscreen/testing";
import {
  checkBlock,
  checkTxInfoList,
  extractBlock,
  parseTronJson,
  TokenRegistry,
  TronBlockSource,
  TronHttpClient,
} from "@chainscreen/tron";
import { workloadChain } from "../test/tron/workload.js";
import { rssMb, table } from "./lib.js";

// Tron ingestion throughput: blocks/s and transfers/s for ~300-transaction blocks.
//   npm run bench -- tron [--blocks 600] [--txs 300] [--concurrency 16]
// 1. extraction alone (JSON parse + validation + transfer extraction, one thread);
// 2. end to end over HTTP: TronBlockSource.blocks() against the Tron test server running in a
//    separate process (so the server does not share this event loop).
// Target: >= 100 blocks/s (mainnet makes one block every 3 s: 300x real time).
// Wall-clock rates depend on what else runs on the machine; "cpu ms/block" (this process only)
// is the steadier figure: 1000 / cpu ms/block is the rate one free core sustains.
const { values } = parseArgs({
  options: {
    blocks: { type: "string", default: "600" },
    txs: { type: "string", default: "300" },
    concurrency: { type: "string", default: "16" },
    batch: { type: "string", default: "50" },
  },
});
const blocks = Number(values.blocks);
const txs = Number(values.txs);

// 1. Extraction only, on pre-rendered bodies.
{
  const n = Math.min(blocks, 100);
  const chain = workloadChain({ from: 1_000_000, blocks: n, txsPerBlock: txs });
  const bodies = [...chain.blocks.values()];
  const tokens = new TokenRegistry();
  let transfers = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const rounds = 3;
  for (let r = 0; r < rounds; r++) {
    for (const b of bodies) {
      const block = checkBlock(parseTronJson(b.blockJson));
      const infos = checkTxInfoList(parseTronJson(b.infosJson));
      transfers += extractBlock(block, infos, { tokens, source: "bench", verifyTxIds: true })
        .transfers.length;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuMsPerBlock = (cpu.user + cpu.system) / 1000 / (n * rounds);
  const mb = bodies.reduce((s, b) => s + b.blockJson.length + b.infosJson.length, 0) / n / 1e6;
  console.log(
    `\nextraction only (${n} blocks x ${rounds}, ${txs} txs/block, ${mb.toFixed(2)} MB JSON/block)`,
  );
  table([
    {
      "blocks/s": ((n * rounds) / secs).toFixed(0),
      "transfers/s": (transfers / secs).toFixed(0),
      "transfers/block": (transfers / (n * rounds)).toFixed(0),
      "cpu ms/block": cpuMsPerBlock.toFixed(2),
      "blocks per cpu-s": (1000 / cpuMsPerBlock).toFixed(0),
      "rss MB": rssMb(),
    },
  ]);
}

// 2. End to end over HTTP.
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(repoRoot, "test", "tron", "serve.ts"),
    "--blocks",
    String(blocks),
    "--txs",
    String(txs),
  ],
  { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
);
try {
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`test server exited with ${code}`)));
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  const { url, from, to } = JSON.parse(line) as { url: string; from: number; to: number };
  const rows: Record<string, string | number>[] = [];
  for (const concurrency of [1, 4, Number(values.concurrency)]) {
    const source = new TronBlockSource({
      client: new TronHttpClient({ urls: [url] }),
      concurrency,
    });
    const batch = Number(values.batch);
    let transfers = 0;
    let n = 0;
    const lat: number[] = [];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let s = from; s <= to; s += batch) {
      const b0 = performance.now();
      const got = await source.blocks(s, Math.min(to, s + batch - 1));
      lat.push(performance.now() - b0);
      n += got.length;
      for (const b of got) transfers += b.transfers.length;
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    lat.sort((a, b) => a - b);
    rows.push({
      concurrency,
      blocks: n,
      "blocks/s": (n / secs).toFixed(0),
      "transfers/s": (transfers / secs).toFixed(0),
      [`p50 ms/${batch} blocks`]: (lat[Math.floor(lat.length / 2)] ?? 0).toFixed(0),
      "ingester cpu ms/block": ((cpu.user + cpu.system) / 1000 / n).toFixed(2),
      "rss MB": rssMb(),
    });
  }
  console.log(
    `\nover HTTP (TronBlockSource.blocks, ${values.batch} blocks per call, server in its own process)`,
  );
  table(rows);
} finally {
  child.kill("SIGTERM");
}
