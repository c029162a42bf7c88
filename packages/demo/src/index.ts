export * from "./addresses.js";
export { default as demoTokenArtifact } from "./token.json" with { type: "json" };
export * from "./traffic.js";
