export * from "./addresses.js";
export * from "./traffic.js";
export { default as demoTokenArtifact } from "./token.json" with { type: "json" };
