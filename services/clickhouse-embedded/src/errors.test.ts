import { describe, expect, it } from "vitest";
import { ClickHouseHttpError, fromEngineError, httpStatusFor } from "./errors.js";

describe("errors", () => {
  it("keeps engine messages in ClickHouse's format without the version suffix", () => {
    const e = fromEngineError(
      Object.assign(
        new Error("Code: 60. DB::Exception: Unknown table x. (UNKNOWN_TABLE) (version 26.7.2.1)"),
        { clickhouseCode: 60 },
      ),
    );
    expect(e.code).toBe(60);
    expect(e.body).toBe("Code: 60. DB::Exception: Unknown table x. (UNKNOWN_TABLE)");
  });

  it("wraps foreign errors as UNKNOWN_EXCEPTION", () => {
    const e = fromEngineError(new Error("boom"));
    expect(e.code).toBe(1002);
    expect(e.body).toBe("Code: 1002. DB::Exception: boom. (UNKNOWN_EXCEPTION)");
  });

  it("maps codes to the HTTP statuses a server uses", () => {
    expect(httpStatusFor(516)).toBe(403);
    expect(httpStatusFor(60)).toBe(404);
    expect(httpStatusFor(62)).toBe(400);
    expect(httpStatusFor(241)).toBe(500);
    expect(ClickHouseHttpError.of("READONLY", "u: no").body).toBe(
      "Code: 164. DB::Exception: u: no. (READONLY)",
    );
  });
});
