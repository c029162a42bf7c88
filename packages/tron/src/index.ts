export * from "./address.js";
export * from "./block-source.js";
export * from "./client.js";
export * from "./extract.js";
export * from "./proto.js";
export * from "./source.js";
export * from "./tokens.js";
export * from "./trongrid.js";
