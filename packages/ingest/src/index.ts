export * from "./backfill.js";
export * from "./follower.js";
export * from "./kafka-store.js";
export * from "./memory-store.js";
export * from "./metrics.js";
export * from "./service.js";
export * from "./types.js";
