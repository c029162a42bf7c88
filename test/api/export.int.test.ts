import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";

// 1M flagged flows exported as CSV and NDJSON through the API: rows stream from ClickHouse to the
// client without being held in the API process (memory measured while streaming).

const ROWS = Number(process.env.API_EXPORT_ROWS ?? 1_000_000);
let h: ApiHarness;

beforeAll(async () => {
  h = await startHarness("export", 0);
  // Generated inside ClickHouse (a client-side insert of 1M flag.v1 messages would measure JSON,
  // not the export). Known content: row n has amount n * 1e9, entity BULK ENTITY, chain ethereum.
  await h.stack.writer.command({
    query: `INSERT INTO flags (id, transfer_id, incident_id, chain, kind, tx_hash, ts, senders, to_address, asset,
              asset_contract, amount, value_usd, rule_id, rule_kind, rule_config_version, severity, sides, address,
              family, counterparty, exposure, hops, weight, entity_names, programmes, list_ids, categories, entries,
              path, evidence, listed_at_transfer_time, retro, status, created_at, version)
            SELECT lower(hex(MD5(toString(number)))), concat('ethereum:bulk:native:', toString(number)),
              lower(hex(MD5(concat('i', toString(number))))), 'ethereum', 'native', lower(hex(SHA256(toString(number)))),
              toDateTime64('2024-06-01 00:00:00', 3, 'UTC') + toIntervalSecond(number),
              ['0x1111111111111111111111111111111111111111'], '0x2222222222222222222222222222222222222222', 'ETH', '',
              toUInt256(number) * 1000000000, toDecimal128(number % 1000, 6), 'direct-sanctioned', 'direct', 'bulk',
              'high', ['from'], '0x1111111111111111111111111111111111111111', 'evm',
              '0x2222222222222222222222222222222222222222', 'direct', 0, 1, ['BULK ENTITY'], ['CYBER2'], ['ofac-sdn'],
              ['sanctioned'], '[]', '[]', [], true, false, 'active', now64(3), 1
            FROM numbers({n:UInt64})`,
    query_params: { n: ROWS },
  });
}, 600_000);
afterAll(async () => {
  await h?.close();
});

/** Reads a response body chunk by chunk (never as a whole), counting lines; samples API memory. */
async function drain(
  r: Response,
): Promise<{ lines: number; bytes: number; peakRss: number; peakHeap: number; first: string }> {
  let lines = 0;
  let bytes = 0;
  let first = "";
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (first.length < 2000) first += Buffer.from(value.subarray(0, 2000)).toString("utf8");
    for (let i = value.indexOf(10); i !== -1; i = value.indexOf(10, i + 1)) lines++;
  }
  clearInterval(timer);
  sample();
  return { lines, bytes, peakRss, peakHeap, first };
}

describe(`export of ${ROWS.toLocaleString()} flows`, () => {
  it.each([
    ["csv", 1],
    ["ndjson", 0],
  ] as const)("%s streams every row with bounded API memory", async (format, header) => {
    global.gc?.();
    const before = process.memoryUsage();
    const t0 = Date.now();
    const r = await h.call(
      `/v1/flows?format=${format}&entity=bulk&sort=amount&order=asc`,
      h.keys.regulator,
    );
    expect(r.status).toBe(200);
    const res = await drain(r);
    const secs = (Date.now() - t0) / 1000;
    expect(res.lines - header).toBe(ROWS);
    if (format === "ndjson")
      expect(JSON.parse(res.first.split("\n")[0] as string)).toMatchObject({
        amount_base_units: "0",
        chain: "ethereum",
      });
    // The body is hundreds of MB; the API process must not hold it. Allow generous headroom for
    // sockets, stream buffers and GC lag, far below the body size.
    const growth = res.peakHeap - (before.heapUsed + before.arrayBuffers);
    process.stdout.write(
      `[export ${format}] rows=${ROWS} bytes=${res.bytes} seconds=${secs.toFixed(1)} rows/s=${Math.round(ROWS / secs)} ` +
        `heap+buffers growth=${(growth / 2 ** 20).toFixed(1)}MiB peakRSS=${(res.peakRss / 2 ** 20).toFixed(0)}MiB baselineRSS=${(before.rss / 2 ** 20).toFixed(0)}MiB\n`,
    );
    expect(res.bytes).toBeGreaterThan(100 * 2 ** 20);
    expect(growth).toBeLessThan(res.bytes / 4);
    expect(growth).toBeLessThan(96 * 2 ** 20);
    // The export is audited with its row count.
    await h.audit.flush();
    const rs = await h.stack.writer.query({
      query: "SELECT rows FROM audit_log WHERE request_id = {id:String}",
      query_params: { id: r.headers.get("x-request-id") as string },
      format: "JSONEachRow",
    });
    expect(Number((await rs.json<{ rows: string }>())[0]?.rows)).toBe(ROWS);
  });
});
