import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../infra/local/proc.js";

const root = resolve(import.meta.dirname, "..", "..");

/** Path of the anvil binary shipped by @foundry-rs/anvil. */
export function anvilBin(): string {
  const platform = join(root, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
  return existsSync(platform) ? platform : join(root, "node_modules", ".bin", "anvil");
}

/** A running anvil node. */
export interface Anvil {
  url: string;
  wsUrl: string;
  port: number;
  proc: ChildProcess;
  /** Raw JSON-RPC call. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts anvil on a free port (`--silent`), resolves once it answers eth_chainId. */
export async function startAnvil(args: string[] = []): Promise<Anvil> {
  const port = await freePort();
  // anvil writes historical states under $HOME/.foundry/anvil/tmp (gigabytes for the bench's
  // chains) and never removes them, not even on SIGTERM: keep the last 500 states in memory only
  // (no test reads older state; `args` may ask for another number), and give each node its own
  // HOME, removed when it exits.
  const prune = args.includes("--prune-history") ? [] : ["--prune-history", "500"];
  const home = mkdtempSync(join(tmpdir(), "chainscreen-anvil-"));
  const proc = spawn(anvilBin(), ["--port", String(port), "--silent", ...prune, ...args], {
    stdio: "ignore",
    env: { ...process.env, HOME: home },
  });
  proc.once("exit", () => rmSync(home, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  let id = 1;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
    });
    const j = (await res.json()) as { result?: T; error?: { message: string } };
    if (j.error) throw new Error(`${method}: ${j.error.message}`);
    return j.result as T;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc("eth_chainId");
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`anvil did not start: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    proc,
    rpc,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}
