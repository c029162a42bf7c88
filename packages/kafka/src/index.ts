export * from "./bus.js";
export * from "./consumer.js";
export * from "./partitioner.js";
export * from "./topics.js";
