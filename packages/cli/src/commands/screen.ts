import { resolve } from "node:path";
import {
  chainFamily,
  FAMILIES,
  type Family,
  familyByShape,
  tryCanonicalize,
} from "@chainscreen/addresses";
import { FileWatchlistStore, type Match, Matcher } from "@chainscreen/watchlist";
import type { Command } from "commander";
import { fail } from "../util.js";

interface ScreenOptions {
  chain?: string;
  family?: string;
  at?: string;
  dataDir?: string;
  json?: boolean;
}

/** Families to screen `address` in: the one named, the one its shape says, or every valid one. */
function families(address: string, o: ScreenOptions): Array<{ family: Family; address: string }> {
  let wanted: Family[];
  if (o.chain) {
    const f = chainFamily(o.chain);
    if (!f) fail(`unknown chain "${o.chain}"`);
    wanted = [f];
  } else if (o.family) {
    if (!(FAMILIES as readonly string[]).includes(o.family)) {
      fail(`unknown family "${o.family}"; use one of ${FAMILIES.join(", ")}`);
    }
    wanted = [o.family as Family];
  } else {
    // An 0x…40-hex string is EVM (a bad EIP-55 checksum is reported, not tried elsewhere); other
    // shapes shared by several families (legacy 1…/3…) are screened in each where valid.
    const shape = /^0x[0-9a-fA-F]{40}$/.test(address.trim()) ? "evm" : familyByShape(address);
    wanted = shape ? [shape] : FAMILIES.filter((f) => f !== "unknown");
  }
  const out: Array<{ family: Family; address: string }> = [];
  const errors: string[] = [];
  for (const f of wanted) {
    const r = tryCanonicalize(f, address);
    if (r.ok) out.push({ family: f, address: r.address });
    else errors.push(r.error);
  }
  if (!out.length)
    fail(
      wanted.length === 1 ? (errors[0] ?? "invalid address") : `not a valid address in any family`,
    );
  return out;
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().slice(0, 10));

/** `chainscreen screen <address> [--chain] [--at]`. */
export function register(program: Command): void {
  program
    .command("screen <address>")
    .description(
      "screen an address against the imported watchlists (every EVM chain shares one space)",
    )
    .option("--chain <chain>", "chain the address is on (ethereum, bsc, tron, bitcoin, …)")
    .option("--family <family>", "address family instead of a chain (evm, bitcoin, tron, …)")
    .option("--at <time>", "answer for this time (ISO or ms): was it listed then?")
    .option(
      "--data-dir <dir>",
      "store directory (env CHAINSCREEN_WATCHLIST_DIR, default .data/watchlists)",
    )
    .option("--json", "print matches as JSON")
    .action(async (address: string, o: ScreenOptions) => {
      let at: number | null = null;
      if (o.at) {
        at = /^\d+$/.test(o.at) ? Number(o.at) : Date.parse(o.at);
        if (!Number.isFinite(at))
          fail(`--at "${o.at}" is not an ISO date/time or unix milliseconds`);
      }
      const targets = families(address, o);
      const store = new FileWatchlistStore(
        resolve(o.dataDir ?? process.env.CHAINSCREEN_WATCHLIST_DIR ?? ".data/watchlists"),
      );
      const ids = await store.listIds();
      if (!ids.length)
        fail(`no watchlists in ${store.dir}; import one with: chainscreen lists import`);
      const inputs = [];
      for (const id of ids) {
        const s = await store.getState(id);
        if (s && s.activeVersion !== null)
          inputs.push({ listId: id, listVersion: s.activeVersion, keys: s.keys });
      }
      const m = Matcher.fromLists(inputs);
      const matches: Match[] = [];
      for (const t of targets) {
        matches.push(
          ...(at === null ? m.lookup(t.family, t.address) : m.lookupAt(t.family, t.address, at)),
        );
      }
      if (o.json) {
        console.log(JSON.stringify({ address, at, screened: targets, matches }, null, 2));
        return;
      }
      const where = targets.map((t) => `${t.family}:${t.address}`).join(", ");
      if (!matches.length) {
        const past = at === null ? targets.flatMap((t) => m.history(t.family, t.address)) : [];
        console.log(
          `no match for ${where}${at === null ? "" : ` at ${new Date(at).toISOString()}`}`,
        );
        for (const p of past)
          console.log(`  (was on ${p.listId} ${iso(p.listedFrom)} → ${iso(p.listedUntil)})`);
        return;
      }
      console.log(`MATCH ${where}${at === null ? "" : ` at ${new Date(at).toISOString()}`}`);
      for (const x of matches) {
        for (const r of x.records) {
          console.log(
            `  ${x.listId} v${x.listVersion} [${r.category}/${r.severity}] ${r.entityName ?? r.label ?? "(no name)"}` +
              `${r.code ? ` code ${r.code}` : ""}${r.programmes.length ? ` programmes ${r.programmes.join(",")}` : ""}` +
              ` listed ${iso(x.listedFrom)} → ${iso(x.listedUntil)}`,
          );
        }
      }
      process.exitCode = 3;
    });
}
