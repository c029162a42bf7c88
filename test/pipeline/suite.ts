// What every fault-injection file shares: one pipeline per file and the acceptance of a scenario.
import { afterAll, beforeAll, expect } from "vitest";
import { Pipeline, type Reconciliation } from "./harness.js";

/** A pipeline for the whole test file: started before its first test, stopped after its last. */
export function usePipeline(): Pipeline {
  const p = new Pipeline();
  beforeAll(async () => {
    await p.start();
  }, 600_000);
  afterAll(async () => {
    await p.stop();
  }, 120_000);
  return p;
}

/** The acceptance of every scenario; prints a one-line summary of the reconciliation first. */
export function expectClean(p: Pipeline, r: Reconciliation, label: string): void {
  const summary = {
    label,
    expectedTransfers: r.expectedTransfers,
    storedRows: r.storedRows,
    retractedTransfers: r.retractedTransfers,
    expectedFlags: r.expectedFlags,
    alerts: r.alerts,
    missingTransfers: r.missingTransfers.length,
    unexpectedTransfers: r.unexpectedTransfers.length,
    missingFlags: r.missingFlags.length,
    missingFlagDetails: r.missingFlagDetails,
    unexpectedFlags: r.unexpectedFlags.length,
    undeliveredAlerts: r.undeliveredAlerts.length,
    unstoredAlerts: r.unstoredAlerts.length,
    unexpectedStoredAlerts: r.unexpectedStoredAlerts.length,
    flagsWithoutAlert: r.flagsWithoutAlert.length,
    notRunning: r.notRunning,
    unexpectedExits: p.unexpectedExits(),
  };
  process.stderr.write(`[pipeline] ${JSON.stringify(summary)}\n`);
  expect(r.expectedTransfers).toBeGreaterThan(0);
  // Zero lost, zero duplicated (after FINAL de-duplication), nothing that is not on the chain.
  expect(r.missingTransfers).toEqual([]);
  expect(r.unexpectedTransfers).toEqual([]);
  expect(r.storedRows).toBe(r.expectedTransfers);
  expect(r.storedDistinct).toBe(r.expectedTransfers);
  expect(r.perAssetStored).toEqual(r.perAssetExpected);
  // Flags equal the reference tagger's set, by id, once each.
  expect(r.expectedFlags).toBeGreaterThan(0);
  expect(r.missingFlags).toEqual([]);
  expect(r.unexpectedFlags).toEqual([]);
  expect(r.flagRows).toBe(r.expectedFlags);
  // Every flag became an alert, every alert reached the bank at least once (valid signature).
  expect(r.flagsWithoutAlert).toEqual([]);
  expect(r.undeliveredAlerts).toEqual([]);
  // The sink stored exactly the published alerts (the alerter does not insert them itself).
  expect(r.unstoredAlerts).toEqual([]);
  expect(r.unexpectedStoredAlerts).toEqual([]);
  expect(r.notRunning).toEqual([]);
}
