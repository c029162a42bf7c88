import type { FlagV1 } from "@chainscreen/schema";

/**
 * Cooldown by incident: when `suppressRepeats` is on, only the first flag of an incident
 * (`flag.incidentId`: rule + parties + cooldown window) is published by this instance; later
 * ones in the same window are counted, not sent. Retractions always pass. Bounded: the oldest
 * incidents are forgotten beyond `maxIncidents`.
 */
export class Cooldown {
  private readonly seen = new Map<string, string>();
  suppressed = 0;

  constructor(private readonly maxIncidents = 500_000) {}

  /** True when the flag should be published. */
  admit(f: FlagV1, suppressRepeats: boolean): boolean {
    if (!suppressRepeats || f.status === "retracted") return true;
    const key = `${f.incidentId}|${f.retro ? "r" : "l"}`;
    const first = this.seen.get(key);
    if (first !== undefined) {
      // The incident's first flag may be redelivered or replayed: the same id passes again.
      if (first === f.id) return true;
      this.suppressed++;
      return false;
    }
    this.seen.set(key, f.id);
    if (this.seen.size > this.maxIncidents) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}
