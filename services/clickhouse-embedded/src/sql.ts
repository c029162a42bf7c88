/**
 * A small ClickHouse SQL scanner: just enough to classify one statement, find its FORMAT clause,
 * refuse multi-statements, and spot calls to functions that reach outside the database.
 *
 * It never rewrites SQL: the engine parses and executes the text as sent. The scanner only has to
 * be right about where string literals, quoted identifiers and comments begin and end, so that a
 * keyword or `;` inside them is never mistaken for syntax.
 */

/** What the server needs to know about a statement before running it. */
export interface StatementInfo {
  /** First keyword, upper-cased (SELECT, INSERT, CREATE, …); "(" for a parenthesised select. */
  kind: string;
  /** Output format named by a top-level FORMAT clause (input format for INSERT). */
  format: string | null;
  /** True when something other than white space or comments follows a `;`. */
  multiStatement: boolean;
  /** Lower-cased names of every identifier directly followed by `(` (functions, table functions, engines). */
  calls: string[];
  /** INTO OUTFILE or FROM INFILE: client-side file access that a server must never perform. */
  fileClause: boolean;
}

type Token = { t: "word"; v: string } | { t: "punct"; v: string };

const isWordStart = (c: string) => /[A-Za-z_]/.test(c);
const isWordChar = (c: string) => /[A-Za-z0-9_$]/.test(c);

/**
 * Scans tokens of the statement head. For INSERT the scan stops after `FORMAT <name>` or
 * `VALUES`, because what follows is data (possibly megabytes of JSON), not SQL.
 */
function* tokens(sql: string): Generator<Token> {
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const e = sql.indexOf("\n", i);
      i = e < 0 ? n : e + 1;
    } else if (c === "#" && (sql[i + 1] === " " || sql[i + 1] === "!")) {
      const e = sql.indexOf("\n", i);
      i = e < 0 ? n : e + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      // ClickHouse allows nested block comments.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || c === '"' || c === "`") {
      // Quoted: backslash escapes and doubled quotes both continue the literal.
      i++;
      let word = "";
      while (i < n) {
        const d = sql[i] as string;
        if (d === "\\") {
          word += sql[i + 1] ?? "";
          i += 2;
        } else if (d === c) {
          if (sql[i + 1] === c) {
            word += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          word += d;
          i++;
        }
      }
      // A quoted identifier can name a function too (`file`(...)); literals are opaque.
      yield c === "'" ? { t: "punct", v: "'lit'" } : { t: "word", v: word };
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordChar(sql[j] as string)) j++;
      yield { t: "word", v: sql.slice(i, j) };
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      yield { t: "punct", v: "num" };
      i = j;
    } else {
      yield { t: "punct", v: c };
      i++;
    }
  }
}

/** Classifies one statement (see {@link StatementInfo}). */
export function inspect(sql: string): StatementInfo {
  const info: StatementInfo = {
    kind: "",
    format: null,
    multiStatement: false,
    calls: [],
    fileClause: false,
  };
  let prev: Token | null = null;
  let formatCheck = false;
  let depth = 0;
  let afterSemicolon = false;
  let expectFormat = false;
  for (const tok of tokens(sql)) {
    if (afterSemicolon) {
      if (!(tok.t === "punct" && tok.v === ";")) {
        info.multiStatement = true;
        break;
      }
      continue;
    }
    if (info.kind === "") info.kind = tok.t === "word" ? tok.v.toUpperCase() : tok.v;
    if (formatCheck) {
      // A FORMAT clause ends the statement (only SETTINGS may follow); `SELECT format FROM t`
      // is a column named format.
      formatCheck = false;
      if (
        !(tok.t === "punct" && tok.v === ";") &&
        !(tok.t === "word" && tok.v.toUpperCase() === "SETTINGS")
      ) {
        info.format = null;
      }
    }
    if (expectFormat) {
      expectFormat = false;
      if (tok.t === "word") {
        info.format = tok.v;
        if (info.kind === "INSERT") break; // the rest is data
        formatCheck = true;
        prev = tok;
        continue;
      }
    }
    if (tok.t === "punct") {
      if (tok.v === "(") {
        depth++;
        if (prev?.t === "word") info.calls.push(prev.v.toLowerCase());
      } else if (tok.v === ")") depth = Math.max(0, depth - 1);
      else if (tok.v === ";" && depth === 0) afterSemicolon = true;
    } else {
      const up = tok.v.toUpperCase();
      if (up === "FORMAT" && depth === 0) expectFormat = true;
      if (up === "VALUES" && info.kind === "INSERT" && depth === 0) break;
      const p = prev?.t === "word" ? prev.v.toUpperCase() : "";
      if ((p === "INTO" && up === "OUTFILE") || (p === "FROM" && up === "INFILE"))
        info.fileClause = true;
    }
    prev = tok;
  }
  return info;
}

/** Statements a read-only user may send; everything else is refused before reaching the engine. */
export const READ_ONLY_KINDS = new Set([
  "SELECT",
  "WITH",
  "SHOW",
  "DESC",
  "DESCRIBE",
  "EXPLAIN",
  "EXISTS",
  "(",
  "USE",
]);

/**
 * Functions that read or write outside the database (files, URLs, other servers, object stores,
 * processes). Read-only users may not call them; the engine's readonly mode already refuses the
 * table-function forms, but not e.g. the scalar `file()`.
 */
const DENIED_EXACT = new Set([
  "file",
  "filecluster",
  "url",
  "urlcluster",
  "remote",
  "remotesecure",
  "cluster",
  "clusterallreplicas",
  "mysql",
  "postgresql",
  "sqlite",
  "mongodb",
  "redis",
  "jdbc",
  "odbc",
  "executable",
  "executablepool",
  "input",
  "infile",
  "dictionary",
  "loop",
  "merge",
  "generatesql",
]);
const DENIED_PREFIX = [
  "s3",
  "gcs",
  "oss",
  "cos",
  "hdfs",
  "azure",
  "iceberg",
  "deltalake",
  "hudi",
  "paimon",
  "arrowflight",
  "ytsaurus",
  "prometheus",
  "timeseries",
  "kafka",
  "nats",
  "rabbitmq",
];

/** True when a read-only user may not call this function. */
export function isDeniedFunction(name: string): boolean {
  const n = name.toLowerCase();
  return DENIED_EXACT.has(n) || DENIED_PREFIX.some((p) => n.startsWith(p));
}

/** Quotes a value as a ClickHouse string literal. */
export function quoteString(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Quotes an identifier with backticks. */
export function quoteIdent(v: string): string {
  return `\`${v.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}

/** An INSERT whose rows follow as data in a text format the engine takes as raw bytes. */
export interface PlainInsert {
  database: string | null;
  table: string;
  columns: string[] | null;
  format: RawInsertFormat;
}

/** Input formats chDB accepts as a byte payload (its raw-insert whitelist). */
const RAW_FORMATS = [
  "JSONEachRow",
  "JSONCompactEachRow",
  "CSV",
  "CSVWithNames",
  "TSV",
  "TabSeparated",
  "TSVWithNames",
  "TabSeparatedWithNames",
] as const;
export type RawInsertFormat = (typeof RAW_FORMATS)[number];

const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const PLAIN_INSERT = new RegExp(
  `^\\s*INSERT\\s+INTO\\s+(?:TABLE\\s+)?(?:(${IDENT})\\.)?(${IDENT})\\s*` +
    `(?:\\(\\s*(${IDENT}(?:\\s*,\\s*${IDENT})*)\\s*\\))?\\s*FORMAT\\s+(${IDENT})\\s*;?\\s*$`,
  "i",
);

/**
 * Recognises the statement clients send with rows in the request body —
 * `INSERT INTO [db.]table [(a, b, …)] FORMAT <text format>` and nothing else (no SETTINGS, no
 * SELECT, no quoted names, no comments) — so that the body can go to the engine as bytes. Anything
 * else is null and takes the general path.
 */
export function plainInsert(sql: string): PlainInsert | null {
  const m = PLAIN_INSERT.exec(sql);
  if (!m) return null;
  const format = RAW_FORMATS.find((f) => f === m[4]);
  if (!format || !m[2]) return null;
  return {
    database: m[1] ?? null,
    table: m[2],
    columns: m[3] ? m[3].split(",").map((c) => c.trim()) : null,
    format,
  };
}
