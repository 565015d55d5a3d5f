import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "src/**/*.test.ts",
            "test/fakes/**/*.test.ts",
            "test/lint/**/*.test.ts",
            "bench/**/*.test.ts",
            "release/**/*.test.ts",
          ],
          environment: "node",
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Each e2e file owns its namespaces and webhook configurations, so files may run side by side;
          // two at a time is what two cores carry without starving the API server.
          maxWorkers: 2,
          fileParallelism: true,
          // Unit tests first: they are fast and say most about a broken change.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
