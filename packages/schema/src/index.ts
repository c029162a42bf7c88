export * from "./alert.js";
export * from "./common.js";
export * from "./dead-letter.js";
export * from "./flag.js";
export * from "./ingest.js";
export * from "./topics.js";
export * from "./transfer.js";
export * from "./watchlist.js";
