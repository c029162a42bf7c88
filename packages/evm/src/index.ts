export * from "./chains.js";
export * from "./create.js";
export * from "./extract.js";
export * from "./rpc.js";
export * from "./source.js";
export * from "./tokens.js";
export * from "./types.js";
