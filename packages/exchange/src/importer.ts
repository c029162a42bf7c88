import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { TransferV1 } from "@chainscreen/schema";
import { parse as parseCsv } from "csv-parse";
import { type FieldError, reportToTransfer } from "./report.js";

/** File formats accepted by {@link importReports}. */
export type ImportFormat = "csv" | "ndjson";

/** A rejected row with its 1-based line number. */
export interface RejectedRow {
  line: number;
  errors: FieldError[];
}

/** What an import did. */
export interface ImportSummary {
  rows: number;
  accepted: number;
  rejected: number;
  /** The first `maxRejectedKept` rejected rows (the count above is complete). */
  rejectedRows: RejectedRow[];
}

/** Options for {@link importReports}. */
export interface ImportOptions {
  format: ImportFormat;
  /** Receives accepted transfers in batches; the import waits for it (back-pressure). */
  onBatch: (transfers: TransferV1[]) => Promise<void>;
  batchSize?: number;
  tenantId?: string;
  source: string;
  /** Called every batch with rows read so far. */
  onProgress?: (rows: number) => void;
  maxRejectedKept?: number;
}

type RawRow = { line: number; record: unknown; error?: string };

async function* csvRecords(input: Readable): AsyncGenerator<RawRow> {
  // Header row gives the field names (same names as the push API: reference, exchange, …).
  const parser = input.pipe(
    parseCsv({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
      relax_column_count: true,
    }),
  );
  for await (const item of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    const rec: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(item.record)) {
      if (v === "") continue;
      rec[k] = k === "decimals" && /^\d+$/.test(v) ? Number(v) : v;
    }
    yield { line: item.info.lines, record: rec };
  }
}

async function* ndjsonRecords(input: Readable): AsyncGenerator<RawRow> {
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === "") continue;
    try {
      yield { line, record: JSON.parse(text) };
    } catch (err) {
      yield { line, record: null, error: `not valid JSON: ${(err as Error).message}` };
    }
  }
}

/**
 * Streams a CSV (with a header row) or NDJSON export of deposits/withdrawals, validates every
 * row, hands accepted transfers to `onBatch` in batches and keeps memory bounded by the batch
 * size. Ids are deterministic from (tenant or exchange, reference), so importing the same file
 * twice produces the same events and the store keeps one row each.
 */
export async function importReports(input: Readable, opts: ImportOptions): Promise<ImportSummary> {
  const batchSize = opts.batchSize ?? 5_000;
  const keep = opts.maxRejectedKept ?? 1_000;
  const summary: ImportSummary = { rows: 0, accepted: 0, rejected: 0, rejectedRows: [] };
  let batch: TransferV1[] = [];
  const reject = (line: number, errors: FieldError[]) => {
    summary.rejected++;
    if (summary.rejectedRows.length < keep) summary.rejectedRows.push({ line, errors });
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await opts.onBatch(b);
    opts.onProgress?.(summary.rows);
  };
  const records: AsyncGenerator<RawRow> =
    opts.format === "csv" ? csvRecords(input) : ndjsonRecords(input);
  try {
    for await (const item of records) {
      summary.rows++;
      if (item.error !== undefined) {
        reject(item.line, [{ field: "(row)", message: item.error }]);
        continue;
      }
      const r = reportToTransfer(item.record, { tenantId: opts.tenantId, source: opts.source });
      if (!r.ok) {
        reject(item.line, r.errors);
        continue;
      }
      summary.accepted++;
      batch.push(r.transfer);
      if (batch.length >= batchSize) await flush();
    }
  } catch (err) {
    throw new Error(`cannot read ${opts.format} input: ${(err as Error).message}`);
  }
  await flush();
  return summary;
}
