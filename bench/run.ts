/**
 * `npm run bench -- <name> [args]` runs bench/<name>.ts; `npm run bench` lists them.
 * Benchmarks start their own infrastructure (or reuse CHAINSCREEN_BENCH_KAFKA_BROKERS etc.)
 * and print figures; they never fail on a threshold.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { serviceNodeOptions } from "../infra/local/index.js";

const dir = import.meta.dirname;
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && !["run.ts", "lib.ts", "warm-broker.ts"].includes(f))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.log(`usage: npm run bench -- <name>\navailable: ${names.join(", ")}`);
  process.exit(name ? 2 : 0);
}
// Benchmarks (and the services some of them start) run with the services' Node options.
const r = spawnSync("npx", ["tsx", join(dir, `${name}.ts`), ...args], {
  stdio: "inherit",
  env: { ...process.env, NODE_OPTIONS: serviceNodeOptions() },
});
process.exit(r.status ?? 1);
