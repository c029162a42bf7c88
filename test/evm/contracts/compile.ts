// Compiles the test contracts with the solc npm package and writes contracts.sol.json
// (abi + bytecode), committed so tests do not compile. Run: npx tsx test/evm/contracts/compile.ts
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import solc from "solc";

const dir = import.meta.dirname;
const names = ["TestToken", "Forwarder"];
const input = {
  language: "Solidity",
  sources: Object.fromEntries(
    names.map((n) => [`${n}.sol`, { content: readFileSync(join(dir, `${n}.sol`), "utf8") }]),
  ),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
if (errors.length)
  throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n"));
const result: Record<string, { abi: unknown; bytecode: string }> = {
  compiler: solc.version(),
} as never;
for (const n of names) {
  const c = out.contracts[`${n}.sol`][n];
  result[n] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}
writeFileSync(join(dir, "contracts.sol.json"), `${JSON.stringify(result, null, 1)}\n`);
console.log(`compiled ${names.join(", ")} with solc ${solc.version()}`);
