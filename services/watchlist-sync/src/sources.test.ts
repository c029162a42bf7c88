import { describe, expect, it } from "vitest";
import { parseSources } from "./sources.js";

describe("WATCHLIST_SOURCES", () => {
  it("parses list|format|location[|comments] items", () => {
    expect(
      parseSources(
        "ofac-sdn|ofac-csv|https://example.org/SDN.CSV|https://example.org/SDN_COMMENTS.CSV; mixers|csv|/srv/mixers.csv",
      ),
    ).toEqual([
      {
        listId: "ofac-sdn",
        format: "ofac-csv",
        location: "https://example.org/SDN.CSV",
        comments: "https://example.org/SDN_COMMENTS.CSV",
      },
      { listId: "mixers", format: "csv", location: "/srv/mixers.csv", comments: undefined },
    ]);
  });
  it("rejects unknown formats, missing parts, bad or duplicate ids", () => {
    expect(() => parseSources("a|xml|/x")).toThrow(/unknown format "xml"/);
    expect(() => parseSources("a|csv")).toThrow(/must be/);
    expect(() => parseSources("A B|csv|/x")).toThrow(/invalid list id/);
    expect(() => parseSources("a|csv|/x;a|csv|/y")).toThrow(/unique/);
    expect(() => parseSources(" ; ")).toThrow(/no sources/);
  });
});
