export * from "./client.js";
export * from "./migrate.js";
export * from "./rows.js";
export * from "./sink.js";
export * from "./store.js";
