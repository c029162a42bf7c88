/** Topic names shared by every service; a prefix (e.g. per test) is applied by the caller. */
export const Topics = {
  transfers: "transfer.v1",
  flags: "flag.v1",
  watchlist: "watchlist.v1",
  alerts: "alert.v1",
  exposure: "exposure.v1",
  opsEvents: "ops.v1",
  deadLetter: "deadletter.v1",
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];
