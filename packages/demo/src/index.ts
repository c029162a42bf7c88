export * from "./addresses.js";
export * from "./traffic.js";
