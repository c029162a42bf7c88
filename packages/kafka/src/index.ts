export * from "./bus.js";
export * from "./consumer.js";
export { kafkajsFixes } from "./kafkajs-fixes.js";
export * from "./partitioner.js";
export * from "./topics.js";
