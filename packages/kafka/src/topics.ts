import { Topics } from "@chainscreen/schema";
import type { TopicSpec } from "./bus.js";

/** Applies an optional prefix (tests, multi-tenant clusters) to a topic name. */
export function topicName(name: string, prefix = ""): string {
  return prefix ? `${prefix}.${name}` : name;
}

/**
 * The project's shared topics with their partitioning and retention. `exposure.v1` is not here:
 * the tagger owns it and creates it with its own partitioning and cleanup policy.
 */
export function standardTopics(prefix = "", partitions = 4): TopicSpec[] {
  const t = (n: string) => topicName(n, prefix);
  return [
    { topic: t(Topics.transfers), partitions },
    { topic: t(Topics.flags), partitions },
    { topic: t(Topics.alerts), partitions },
    { topic: t(Topics.watchlist), partitions: 1, compacted: true },
    { topic: t(Topics.opsEvents), partitions: 1 },
    { topic: t(Topics.deadLetter), partitions: 1, retentionMs: 30 * 24 * 3600 * 1000 },
  ];
}
