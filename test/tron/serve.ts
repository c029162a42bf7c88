import { parseArgs } from "node:util";
import { FIXTURE_BLOCK } from "./chain.js";
import { startTronTestServer } from "./server.js";
import { workloadChain } from "./workload.js";

// Runs the Tron test server on its own (benchmarks, trying the ingester by hand):
//   tsx test/tron/serve.ts --blocks 300 --txs 300 [--from 78861100] [--port 0]
// Prints one JSON line {"url", "from", "to", "transactions"} on stdout once listening.
const { values } = parseArgs({
  options: {
    blocks: { type: "string", default: "100" },
    txs: { type: "string", default: "300" },
    from: { type: "string", default: String(FIXTURE_BLOCK + 1000) },
  },
});
const from = Number(values.from);
const chain = workloadChain({
  from,
  blocks: Number(values.blocks),
  txsPerBlock: Number(values.txs),
});
const server = await startTronTestServer({ chain });
console.log(
  JSON.stringify({
    url: server.url,
    from,
    to: chain.head,
    transactions: Number(values.blocks) * Number(values.txs),
  }),
);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
