/** ClickHouse error codes this server raises itself (same numbers and names as the server's). */
export const Codes = {
  SYNTAX_ERROR: [62, "SYNTAX_ERROR"],
  UNKNOWN_FORMAT: [73, "UNKNOWN_FORMAT"],
  READONLY: [164, "READONLY"],
  ACCESS_DENIED: [497, "ACCESS_DENIED"],
  AUTHENTICATION_FAILED: [516, "AUTHENTICATION_FAILED"],
  HTTP_LENGTH_REQUIRED: [381, "HTTP_LENGTH_REQUIRED"],
  UNKNOWN_SETTING: [115, "UNKNOWN_SETTING"],
  NOT_IMPLEMENTED: [48, "NOT_IMPLEMENTED"],
  TIMEOUT_EXCEEDED: [159, "TIMEOUT_EXCEEDED"],
  ABORTED: [236, "ABORTED"],
  UNKNOWN_EXCEPTION: [1002, "UNKNOWN_EXCEPTION"],
} as const;

/** An error answered in ClickHouse's format: `Code: N. DB::Exception: <message>. (<TYPE>)`. */
export class ClickHouseHttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(body);
  }

  /** Builds one of the codes in {@link Codes}. */
  static of(which: keyof typeof Codes, message: string): ClickHouseHttpError {
    const [code, type] = Codes[which];
    return new ClickHouseHttpError(code, `Code: ${code}. DB::Exception: ${message}. (${type})`);
  }
}

const ENGINE_VERSION_SUFFIX = / \(version [^)]*\)$/;

/** Maps whatever chDB threw into a ClickHouse-formatted error. */
export function fromEngineError(err: unknown): ClickHouseHttpError {
  if (err instanceof ClickHouseHttpError) return err;
  const e = err as { message?: unknown; clickhouseCode?: unknown };
  const message = typeof e?.message === "string" ? e.message.trim() : String(err);
  const m = /^Code: (\d+)\./.exec(message);
  const code = typeof e?.clickhouseCode === "number" ? e.clickhouseCode : m ? Number(m[1]) : 1002;
  if (m) return new ClickHouseHttpError(code, message.replace(ENGINE_VERSION_SUFFIX, ""));
  return new ClickHouseHttpError(
    code,
    `Code: ${code}. DB::Exception: ${message}. (UNKNOWN_EXCEPTION)`,
  );
}

/** HTTP status ClickHouse answers for an exception code (subset of exceptionCodeToHTTPStatus). */
export function httpStatusFor(code: number): number {
  switch (code) {
    case 192: // UNKNOWN_USER
    case 193: // WRONG_PASSWORD
    case 194: // REQUIRED_PASSWORD
    case 516: // AUTHENTICATION_FAILED
    case 497: // ACCESS_DENIED
    case 164: // READONLY
      return 403;
    case 60: // UNKNOWN_TABLE
    case 81: // UNKNOWN_DATABASE
    case 46: // UNKNOWN_FUNCTION
    case 47: // UNKNOWN_IDENTIFIER
    case 16: // NO_SUCH_COLUMN_IN_TABLE
    case 73: // UNKNOWN_FORMAT
    case 115: // UNKNOWN_SETTING
      return 404;
    case 62: // SYNTAX_ERROR
    case 6: // CANNOT_PARSE_TEXT
    case 26: // CANNOT_PARSE_QUOTED_STRING
    case 27: // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 36: // BAD_ARGUMENTS
    case 38: // CANNOT_PARSE_DATE
    case 41: // CANNOT_PARSE_DATETIME
    case 43: // ILLEGAL_TYPE_OF_ARGUMENT
    case 53: // TYPE_MISMATCH
    case 57: // TABLE_ALREADY_EXISTS
    case 69: // ARGUMENT_OUT_OF_BOUND
    case 70: // CANNOT_CONVERT_TYPE
    case 72: // CANNOT_PARSE_NUMBER
    case 117: // INCORRECT_DATA
    case 184: // ILLEGAL_AGGREGATION
    case 215: // NOT_AN_AGGREGATE
    case 352: // AMBIGUOUS_COLUMN_NAME
    case 456: // UNKNOWN_QUERY_PARAMETER
    case 457: // BAD_QUERY_PARAMETER
      return 400;
    case 381: // HTTP_LENGTH_REQUIRED
      return 411;
    case 48: // NOT_IMPLEMENTED
      return 501;
    default:
      return 500;
  }
}
