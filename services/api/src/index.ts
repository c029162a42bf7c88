export { type ApiDeps, type ApiOptions, buildApi } from "./app.js";
export { type AuditRecord, type AuditSink, ClickHouseAuditSink, MemoryAuditSink } from "./audit.js";
export type { TransferPublisher } from "./routes/compat.js";
export type { ListsDeps } from "./routes/lists.js";
export type { AlertsDeps } from "./routes/subscriptions.js";
export {
  MatcherLookup,
  MemoryWatchlist,
  normalizeAddress,
  type ScreenMatch,
  type WatchlistLookup,
} from "./screening.js";
