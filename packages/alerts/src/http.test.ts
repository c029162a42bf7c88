import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAgents, parseRetryAfter, postJson } from "./http.js";
import { resolveTarget } from "./ssrf.js";

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function serve(
  handler: (
    headers: IncomingHttpHeaders,
    body: string,
    res: import("node:http").ServerResponse,
  ) => void,
) {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req.headers, Buffer.concat(chunks).toString("utf8"), res));
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

const opts = { timeoutMs: 2_000, maxResponseBytes: 1024 };

describe("postJson", () => {
  it("connects to the pinned address while sending the URL's host name", async () => {
    let seen: IncomingHttpHeaders = {};
    let got = "";
    const port = await serve((h, body, res) => {
      seen = h;
      got = body;
      res.writeHead(201).end();
    });
    // A name that does not resolve anywhere: only the pinned address can make this work.
    const lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const target = await resolveTarget(
      `http://bank.invalid:${port}/hook`,
      { allow: ["loopback"] },
      lookup,
    );
    const r = await postJson(
      target,
      '{"a":1}',
      { "x-test": "1" },
      { ...opts, agents: createAgents() },
    );
    expect(r).toMatchObject({ status: 201, error: null });
    expect(seen.host).toBe(`bank.invalid:${port}`);
    expect(seen["content-type"]).toBe("application/json");
    expect(seen["x-test"]).toBe("1");
    expect(got).toBe('{"a":1}');
  });

  it("stops reading a response body past the limit but keeps the status", async () => {
    const port = await serve((_h, _b, res) => {
      res.writeHead(200);
      res.end("x".repeat(1024 * 1024));
    });
    const target = await resolveTarget(`http://127.0.0.1:${port}/`, { allow: ["loopback"] });
    const r = await postJson(target, "{}", {}, opts);
    expect(r).toMatchObject({ status: 200, error: "response too large" });
  });

  it("times out a receiver that never answers, and reports refused connections", async () => {
    const port = await serve(() => {});
    const target = await resolveTarget(`http://127.0.0.1:${port}/`, { allow: ["loopback"] });
    expect(await postJson(target, "{}", {}, { ...opts, timeoutMs: 200 })).toMatchObject({
      status: null,
      error: "timeout",
    });
    const closed = await resolveTarget("http://127.0.0.1:1/", { allow: ["loopback"] });
    expect(await postJson(closed, "{}", {}, opts)).toMatchObject({
      status: null,
      error: "ECONNREFUSED",
    });
  });

  it("reads Retry-After in seconds and ignores other forms", () => {
    expect(parseRetryAfter("120")).toBe(120_000);
    expect(parseRetryAfter(" 3 ")).toBe(3_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
    expect(parseRetryAfter("-1")).toBeNull();
  });

  it("returns Retry-After of a 429", async () => {
    const port = await serve((_h, _b, res) => {
      res.writeHead(429, { "retry-after": "7" }).end();
    });
    const target = await resolveTarget(`http://127.0.0.1:${port}/`, { allow: ["loopback"] });
    expect(await postJson(target, "{}", {}, opts)).toMatchObject({
      status: 429,
      retryAfterMs: 7_000,
    });
  });
});
