import { isRetryable } from "@chainscreen/errors";
import {
  Backfill,
  type BackfillOptions,
  type BackfillProgress,
  type ChainFollower,
  type TickResult,
} from "@chainscreen/ingest";

// Helpers for the chain ingestion tests (follower and backfill against a test node and Kafka).

/**
 * One follower step, retried like the service's run() retries retryable failures (a fresh broker
 * may still be electing a coordinator): tests tick by hand, up to 5 attempts 500 ms apart.
 */
export async function tick(f: ChainFollower): Promise<TickResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f.tick();
    } catch (err) {
      if (!isRetryable(err) || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * A backfill killed and run again: a first job (`job()` plus `first`) is aborted as soon as
 * `abortWhen` holds for a progress report (default: after its first committed batch); then a
 * second job over the same range reads its resume point and runs. `job` is called once per job,
 * so each can get a fresh source, as a restarted process would.
 */
export async function interruptedBackfill(
  job: () => Omit<BackfillOptions, "signal">,
  opts: {
    first?: Partial<BackfillOptions>;
    abortWhen?: (p: BackfillProgress) => boolean;
  } = {},
): Promise<{ first: BackfillProgress; resume: number; second: BackfillProgress }> {
  const ctl = new AbortController();
  const base = job();
  const first = await new Backfill({
    ...base,
    ...opts.first,
    signal: ctl.signal,
    onProgress: (p) => {
      base.onProgress?.(p);
      if (opts.abortWhen?.(p) ?? true) ctl.abort();
    },
  }).run();
  const second = new Backfill(job());
  const resume = await second.resumePoint();
  return { first, resume, second: await second.run() };
}
