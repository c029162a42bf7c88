import { counter, gauge, histogram } from "@chainscreen/runtime";
import type { Counter, Gauge, Histogram } from "prom-client";

/** Prometheus metrics of the follower and backfill, labelled by chain. */
export interface IngestMetrics {
  head: Gauge;
  height: Gauge;
  lagSeconds: Gauge;
  blocks: Counter;
  transfers: Counter;
  reorgs: Counter;
  reorgDepth: Histogram;
  errors: Counter;
  fetchSeconds: Histogram;
  commitSeconds: Histogram;
  backfillNext: Gauge;
}

/** The shared ingest metrics (created once per process). */
export function ingestMetrics(): IngestMetrics {
  return {
    head: gauge("chainscreen_ingest_head_block", "Newest block number reported by the node", [
      "chain",
    ]),
    height: gauge("chainscreen_ingest_tip_block", "Last block emitted by the follower", ["chain"]),
    lagSeconds: gauge(
      "chainscreen_ingest_lag_seconds",
      "Age of the last emitted block (now - block time), seconds",
      ["chain"],
    ),
    blocks: counter("chainscreen_ingest_blocks_total", "Blocks emitted", ["chain", "status"]),
    transfers: counter("chainscreen_ingest_transfers_total", "transfer.v1 events emitted", [
      "chain",
      "kind",
      "status",
    ]),
    reorgs: counter("chainscreen_ingest_reorgs_total", "Reorgs handled", ["chain"]),
    reorgDepth: histogram(
      "chainscreen_ingest_reorg_depth_blocks",
      "Blocks orphaned per reorg",
      ["chain"],
      [1, 2, 3, 5, 10, 20, 50, 100],
    ),
    errors: counter("chainscreen_ingest_errors_total", "Failed ingest steps (retried)", ["chain"]),
    fetchSeconds: histogram("chainscreen_ingest_fetch_seconds", "Time to fetch a batch of blocks", [
      "chain",
    ]),
    commitSeconds: histogram(
      "chainscreen_ingest_commit_seconds",
      "Time of one Kafka transaction (events + checkpoint)",
      ["chain"],
    ),
    backfillNext: gauge("chainscreen_backfill_next_block", "Next block of the running backfill", [
      "chain",
    ]),
  };
}
