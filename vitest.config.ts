import { defineConfig } from "vitest/config";

// Three projects:
// - unit: pure logic, no infrastructure, seconds (`npm run test:unit`).
// - integration: `*.int.test.ts`, against the real Kafka, Redis and embedded ClickHouse that
//   test/global-setup.ts starts once per run.
// - e2e: `test/**/*.e2e.test.ts`, whole-pipeline scenarios on the same infrastructure.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "packages/*/src/**/*.test.ts",
            "services/*/src/**/*.test.ts",
            "test/unit/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/*.e2e.test.ts", "**/node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "packages/*/src/**/*.int.test.ts",
            "services/*/src/**/*.int.test.ts",
            "test/**/*.int.test.ts",
          ],
          exclude: ["**/node_modules/**"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Two cores: run files one or two at a time so brokers and timers are not starved.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.e2e.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
