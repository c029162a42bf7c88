export * from "./base58.js";
export * from "./canonical.js";
export * from "./cashaddr.js";
export * from "./codes.js";
export * from "./families.js";
