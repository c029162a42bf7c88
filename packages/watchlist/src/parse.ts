import { parseOfacCodesDir } from "./parsers/codes-dir.js";
import { parseCustomCsv, parseCustomJson } from "./parsers/custom.js";
import { parseOfacAdvanced } from "./parsers/ofac-advanced.js";
import { parseOfacCsv } from "./parsers/ofac-csv.js";
import { parseOpenSanctions } from "./parsers/opensanctions.js";
import type { ListFormat, ParseResult } from "./types.js";

/** Options of {@link parseList}. */
export interface ParseOptions {
  /** ofac-csv: SDN_COMMENTS.CSV, to rebuild remarks cut at 1,000 characters. */
  commentsPath?: string;
}

/** Parses a list file (a directory for `ofac-codes-dir`) in the given format. */
export function parseList(
  format: ListFormat,
  path: string,
  opts: ParseOptions = {},
): Promise<ParseResult> {
  switch (format) {
    case "ofac-advanced":
      return parseOfacAdvanced(path);
    case "ofac-csv":
      return parseOfacCsv(path, { commentsPath: opts.commentsPath });
    case "opensanctions":
      return parseOpenSanctions(path);
    case "csv":
      return parseCustomCsv(path);
    case "json":
      return parseCustomJson(path);
    case "ofac-codes-dir":
      return parseOfacCodesDir(path);
  }
}
