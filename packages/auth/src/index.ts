export * from "./clickhouse.js";
export * from "./keys.js";
export * from "./roles.js";
export * from "./store.js";
