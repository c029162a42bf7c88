/**
 * First line of defence for analyst SQL, in front of the read-only ClickHouse user (which is the
 * real guarantee): one statement, reading only, no table functions that reach files, URLs, other
 * servers or processes, no output redirection, no FORMAT/SETTINGS of its own.
 */

/** Statements an analyst may run. */
const ALLOWED_FIRST = new Set(["SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"]);

/**
 * Table functions (and table engines usable as functions) that reach outside the database or
 * run programs. Harmless generators (numbers, zeros, generateSeries) stay allowed: the
 * execution-time and row limits bound them.
 */
const FORBIDDEN_FUNCTIONS = new Set(
  [
    "file",
    "url",
    "urlcluster",
    "remote",
    "remotesecure",
    "cluster",
    "clusterallreplicas",
    "s3",
    "s3cluster",
    "gcs",
    "oss",
    "cos",
    "azureblobstorage",
    "azureblobstoragecluster",
    "hdfs",
    "hdfscluster",
    "input",
    "mysql",
    "postgresql",
    "mongodb",
    "redis",
    "sqlite",
    "jdbc",
    "odbc",
    "executable",
    "executablepool",
    "iceberg",
    "icebergs3",
    "icebergazure",
    "icebergcluster",
    "deltalake",
    "deltalakecluster",
    "hudi",
    "hudicluster",
    "dictionary",
    "merge",
    "view",
    "loop",
    "fuzzjson",
    "fuzzquery",
    "mergetreeindex",
    "mergetreeanalyzeindexes",
    "format",
    "arrowflight",
    "ytsaurus",
    "paimon",
    "prometheusquery",
    "timeseriesdata",
    "timeseriesmetrics",
    "timeseriestags",
  ].map((s) => s.toLowerCase()),
);

/** Keywords that never belong in a read-only query. */
// The first word is already one of ALLOWED_FIRST, so statement keywords can only appear later
// (e.g. after a UNION or in a subquery, where ClickHouse rejects them anyway); words that are
// also common column names (exchange, status, …) or schema names (system) are not listed.
const FORBIDDEN_KEYWORDS = new Set([
  "INSERT",
  "ALTER",
  "DROP",
  "CREATE",
  "TRUNCATE",
  "RENAME",
  "ATTACH",
  "DETACH",
  "OPTIMIZE",
  "GRANT",
  "REVOKE",
  "KILL",
  "SETTINGS",
  "OUTFILE",
  "FORMAT",
]);

/** Result of {@link checkSql}. */
export type SqlCheck = { ok: true; sql: string } | { ok: false; reason: string };

interface Token {
  kind: "word" | "punct" | "string" | "quoted" | "number";
  text: string;
}

/** Tokenises ClickHouse SQL enough to see keywords and calls: strings and comments are skipped. */
function tokenize(sql: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "#") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end === -1) return "unterminated comment";
      i = end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === "\\" ? 2 : 1;
      if (j >= sql.length) return "unterminated quoted text";
      // '…' is a literal; "…" and `…` are identifiers.
      out.push({ kind: c === "'" ? "string" : "quoted", text: sql.slice(i + 1, j) });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j] as string)) j++;
      out.push({ kind: "word", text: sql.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      out.push({ kind: "number", text: sql.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: "punct", text: c });
      i++;
    }
  }
  return out;
}

/** Checks an analyst query; returns it without a trailing semicolon. */
export function checkSql(sql: string): SqlCheck {
  const toks = tokenize(sql);
  if (typeof toks === "string") return { ok: false, reason: toks };
  if (toks.length === 0) return { ok: false, reason: "empty query" };
  // One statement: a semicolon is only allowed as the very last token.
  const semi = toks.findIndex((t) => t.kind === "punct" && t.text === ";");
  if (semi !== -1 && semi !== toks.length - 1)
    return { ok: false, reason: "only one statement is allowed" };
  const first = toks[0] as Token;
  if (first.kind !== "word" || !ALLOWED_FIRST.has(first.text.toUpperCase())) {
    return {
      ok: false,
      reason: "only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS queries are allowed",
    };
  }
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Token;
    if (t.kind !== "word" && t.kind !== "quoted") continue;
    const upper = t.text.toUpperCase();
    if (t.kind === "word" && FORBIDDEN_KEYWORDS.has(upper)) {
      return { ok: false, reason: `${upper} is not allowed in analyst queries` };
    }
    const next = toks[i + 1];
    if (
      next?.kind === "punct" &&
      next.text === "(" &&
      FORBIDDEN_FUNCTIONS.has(t.text.toLowerCase())
    ) {
      // `format(…)` the string function shares its name with the table function; both are refused
      // (use concat/printf instead) because telling them apart needs a full parser.
      return { ok: false, reason: `table function ${t.text}() is not allowed` };
    }
  }
  const trimmed = sql.trim().replace(/;\s*$/, "");
  return { ok: true, sql: trimmed };
}
