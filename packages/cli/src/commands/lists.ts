import { resolve } from "node:path";
import {
  defaultListId,
  diffEntries,
  FileWatchlistStore,
  fetchList,
  type ImportResult,
  importList,
  isUrl,
  LIST_FORMATS,
  type ListDiff,
  type ListEntry,
  type ListFormat,
  type ParseReport,
  parseToEntries,
  type VersionSummary,
} from "@chainscreen/watchlist";
import type { Command } from "commander";
import { errorText, fail } from "../util.js";

/** Default data directory of the file-backed watchlist store. */
export const DEFAULT_WATCHLIST_DIR = ".data/watchlists";

/** `--data-dir`, else CHAINSCREEN_WATCHLIST_DIR, else .data/watchlists (relative to the cwd). */
export function watchlistDir(opt?: string): string {
  return resolve(opt ?? process.env.CHAINSCREEN_WATCHLIST_DIR ?? DEFAULT_WATCHLIST_DIR);
}

function format(v: string): ListFormat {
  if (!(LIST_FORMATS as readonly string[]).includes(v)) {
    fail(`unknown format "${v}"; use one of ${LIST_FORMATS.join(", ")}`);
  }
  return v as ListFormat;
}

function time(v: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) fail(`"${v}" is not an ISO date/time or unix milliseconds`);
  return ms;
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

function printCounts(v: Pick<VersionSummary, "counts">): void {
  const c = v.counts;
  console.log(`  addresses ${c.addresses}, records ${c.records}`);
  const codes = Object.entries(c.byCode).sort((a, b) => b[1] - a[1]);
  if (codes.length) console.log(`  per code: ${codes.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const fams = Object.entries(c.byFamily).sort((a, b) => b[1] - a[1]);
  if (fams.length) console.log(`  per family: ${fams.map(([k, n]) => `${k} ${n}`).join(", ")}`);
}

function printReport(r: ParseReport, verbose: boolean): void {
  console.log(`  read ${r.recordsRead} records, ${r.addressRecords} with addresses`);
  if (r.fragments.length) {
    console.log(`  ${r.fragments.length} truncated fragments (not indexed):`);
    for (const f of r.fragments)
      console.log(`    ${f.where} ent ${f.entityId ?? "-"} ${f.code} "${f.text}"`);
  }
  if (r.invalid.length) {
    console.log(`  ${r.invalid.length} invalid addresses (not indexed):`);
    for (const i of r.invalid)
      console.log(`    ${i.where} ${i.code ?? "-"} ${i.address}: ${i.reason}`);
  }
  const unknown = Object.entries(r.unknownCodes);
  if (unknown.length) {
    console.log(
      `  unknown currency codes (kept, family by shape): ${unknown.map(([k, n]) => `${k} ×${n}`).join(", ")}`,
    );
  }
  if (r.warnings.length) {
    console.log(`  ${r.warnings.length} warnings${verbose ? ":" : " (--verbose to list)"}`);
    if (verbose) for (const w of r.warnings) console.log(`    ${w}`);
  }
}

function printDiff(d: ListDiff, limit: number): void {
  console.log(
    `  diff vs ${d.previousVersion === null ? "nothing" : `v${d.previousVersion}`}: +${d.added.length} -${d.removed.length} ~${d.changed.length}`,
  );
  const show = (sign: string, keys: string[]) => {
    for (const k of keys.slice(0, limit)) console.log(`    ${sign} ${k}`);
    if (keys.length > limit) console.log(`    … ${keys.length - limit} more`);
  };
  show("+", d.added);
  show("-", d.removed);
  show("~", d.changed);
}

async function runImport(
  source: string,
  o: {
    format: string;
    list?: string;
    comments?: string;
    dataDir?: string;
    effectiveAt?: string;
    maxShrink?: string;
    force?: boolean;
    verbose?: boolean;
    json?: boolean;
  },
): Promise<void> {
  const fmt = format(o.format);
  const listId = o.list ?? defaultListId(fmt, source);
  const store = new FileWatchlistStore(watchlistDir(o.dataDir));
  let path = source;
  let cleanup: (() => Promise<void>) | null = null;
  if (isUrl(source)) {
    if (fmt === "ofac-codes-dir") fail("ofac-codes-dir reads a local directory, not a URL");
    const r = await fetchList(source);
    if (r.status !== "downloaded") fail("server answered 304 to an unconditional request");
    path = r.path;
    cleanup = r.cleanup;
  }
  let result: ImportResult;
  try {
    const maxShrink = o.maxShrink === undefined ? undefined : Number(o.maxShrink);
    if (maxShrink !== undefined && !(maxShrink >= 0 && maxShrink <= 1))
      fail("--max-shrink must be between 0 and 1");
    result = await importList(store, {
      listId,
      format: fmt,
      path,
      source,
      commentsPath: o.comments,
      effectiveAt: o.effectiveAt ? time(o.effectiveAt) : undefined,
      maxShrink,
      force: o.force,
    });
  } catch (err) {
    fail(`import of ${source} failed, active version unchanged: ${errorText(err)}`);
  } finally {
    await cleanup?.();
  }
  const v = result.version;
  if (o.json) {
    console.log(JSON.stringify({ outcome: result.status, ...v }, null, 2));
  } else {
    const what =
      result.status === "unchanged"
        ? `unchanged: same content as active v${v.version}`
        : result.status === "held"
          ? `HELD v${v.version} (active stays v${result.state.activeVersion ?? "none"}): ${v.heldReason}`
          : `activated v${v.version}`;
    console.log(`${listId}: ${what}`);
    console.log(`  hash ${v.hash}, effective ${iso(v.effectiveAt)}`);
    printCounts(v);
    if (result.status !== "unchanged") {
      printReport(v.report, o.verbose ?? false);
      printDiff(v.diff, o.verbose ? Number.POSITIVE_INFINITY : 20);
    }
  }
  if (result.status === "held") process.exitCode = 2;
}

/** `list@N`, `N` (with --list) or a file path. */
async function entriesOf(
  ref: string,
  o: { list?: string; format?: string; dataDir?: string },
): Promise<{ label: string; entries: Map<string, ListEntry> }> {
  const store = new FileWatchlistStore(watchlistDir(o.dataDir));
  const m = /^(?:([a-z0-9][a-z0-9._-]*)@)?(\d+)$/.exec(ref);
  if (m) {
    const listId = m[1] ?? o.list;
    if (!listId) fail(`version "${ref}" needs a list: use <list>@<n> or --list`);
    const v = await store.getVersion(listId, Number(m[2]));
    if (!v) fail(`no version ${m[2]} of list ${listId} in ${store.dir}`);
    return {
      label: `${listId}@${v.version}`,
      entries: new Map(v.entries.map((e) => [`${e.family}:${e.address}`, e])),
    };
  }
  if (!o.format) fail(`"${ref}" is not <list>@<version>; to diff files pass --format`);
  try {
    const { entries } = await parseToEntries(format(o.format), ref);
    return { label: ref, entries };
  } catch (err) {
    fail(errorText(err));
  }
}

async function runShow(
  listId: string | undefined,
  o: { dataDir?: string; version?: string; entries?: boolean; verbose?: boolean },
): Promise<void> {
  const store = new FileWatchlistStore(watchlistDir(o.dataDir));
  if (!listId) {
    const ids = await store.listIds();
    if (!ids.length) {
      console.log(
        `no lists in ${store.dir} (import one with: chainscreen lists import <file|url> --format …)`,
      );
      return;
    }
    for (const id of ids) {
      const s = await store.getState(id);
      const active = s?.versions.find((v) => v.version === s.activeVersion);
      const held =
        s?.versions.filter((v) => v.status === "held" && v.version > (s.activeVersion ?? 0))
          .length ?? 0;
      console.log(
        `${id}: active v${s?.activeVersion ?? "-"} of ${s?.lastVersion ?? 0}` +
          (active
            ? `, ${active.counts.addresses} addresses, ${active.format}, imported ${iso(active.importedAt)}`
            : "") +
          (held ? `, ${held} held` : ""),
      );
      if (active) printCounts(active);
    }
    return;
  }
  const s = await store.getState(listId);
  if (!s) fail(`no list "${listId}" in ${store.dir}`);
  if (o.version === undefined) {
    for (const v of s.versions) {
      console.log(
        `v${v.version} ${v.status.padEnd(10)} ${iso(v.importedAt)} ${v.hash.slice(0, 12)} ${String(v.counts.addresses).padStart(7)} addr` +
          ` +${v.diff.added.length} -${v.diff.removed.length} ~${v.diff.changed.length} ${v.source}` +
          (v.heldReason ? ` (held: ${v.heldReason})` : ""),
      );
    }
    return;
  }
  const v = await store.getVersion(listId, Number(o.version));
  if (!v) fail(`no version ${o.version} of list ${listId}`);
  console.log(`${listId} v${v.version} ${v.status}, hash ${v.hash}, source ${v.source}`);
  printCounts(v);
  printReport(v.report, o.verbose ?? false);
  if (o.entries) {
    for (const e of v.entries) {
      const r = e.records[0];
      console.log(
        `${e.family}\t${e.address}\t${e.records.map((x) => x.code ?? "-").join(",")}\t${r?.entityName ?? ""}`,
      );
    }
  }
}

/** `chainscreen lists import|diff|show`. */
export function register(program: Command): void {
  const lists = program
    .command("lists")
    .description("watchlists: import versions, diff them, show them");
  lists
    .command("import <source>")
    .description("import a list file or URL as a new version (held if it fails the checks)")
    .requiredOption("--format <format>", `input format: ${LIST_FORMATS.join(" | ")}`)
    .option("--list <id>", "list id (default: ofac-sdn for OFAC formats, else from the file name)")
    .option("--comments <file>", "ofac-csv: SDN_COMMENTS.CSV to rebuild remarks cut at 1,000 chars")
    .option("--effective-at <time>", "when additions/removals take effect (ISO or ms; default now)")
    .option(
      "--max-shrink <fraction>",
      "hold the version if it drops more than this share (default 0.2)",
    )
    .option("--force", "activate even if a check would hold the version")
    .option(
      "--data-dir <dir>",
      `store directory (env CHAINSCREEN_WATCHLIST_DIR, default ${DEFAULT_WATCHLIST_DIR})`,
    )
    .option("--verbose", "list every warning and diff line")
    .option("--json", "print the version summary as JSON")
    .action(runImport);
  lists
    .command("diff <a> <b>")
    .description("diff two versions (<list>@<n>, or <n> with --list) or two files (with --format)")
    .option("--list <id>", "list of bare version numbers")
    .option("--format <format>", "format of file arguments")
    .option("--data-dir <dir>", "store directory")
    .action(
      async (a: string, b: string, o: { list?: string; format?: string; dataDir?: string }) => {
        const x = await entriesOf(a, o);
        const y = await entriesOf(b, o);
        const d = diffEntries(x.entries, y.entries, null);
        console.log(
          `${x.label} → ${y.label}: +${d.added.length} -${d.removed.length} ~${d.changed.length}`,
        );
        for (const k of d.added) console.log(`+ ${k}`);
        for (const k of d.removed) console.log(`- ${k}`);
        for (const k of d.changed) console.log(`~ ${k}`);
      },
    );
  lists
    .command("show [list]")
    .description(
      "show lists and active versions; with a list id its versions; with --version one version",
    )
    .option("--version <n>", "show this version's counts and report")
    .option("--entries", "with --version: print every entry")
    .option("--verbose", "list every warning")
    .option("--data-dir <dir>", "store directory")
    .action(runShow);
}
