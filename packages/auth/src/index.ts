export * from "./keys.js";
export * from "./roles.js";
export * from "./store.js";
export * from "./clickhouse.js";
