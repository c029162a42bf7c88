import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "@chainscreen/testing";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// docker-compose.yml cannot run here (no Docker engine), so check its shape instead:
// every deployable under services/ is in it, built from the shared Dockerfile, with a
// healthcheck and an environment.
interface ComposeService {
  image?: string;
  build?: { args?: Record<string, string> };
  healthcheck?: { test?: unknown };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(repoRoot, "docker-compose.yml"), "utf8"), {
  merge: true,
}) as {
  services: Record<string, ComposeService>;
};
const serviceDirs = readdirSync(join(repoRoot, "services")).filter((d) =>
  statSync(join(repoRoot, "services", d)).isDirectory(),
);

describe("docker-compose.yml", () => {
  it("has the infrastructure with healthchecks", () => {
    for (const name of ["kafka", "redis", "clickhouse", "prometheus", "grafana"]) {
      const s = compose.services[name];
      expect(s, name).toBeDefined();
      expect(s?.image, name).toBeTruthy();
      expect(s?.healthcheck?.test, name).toBeTruthy();
    }
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\.1/);
    expect(compose.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:/);
  });

  it.each(serviceDirs)(
    "runs service %s from the shared Dockerfile with healthcheck and env",
    (dir) => {
      const s = compose.services[dir];
      expect(s, `services/${dir} is missing from docker-compose.yml`).toBeDefined();
      expect(s?.build?.args?.SERVICE).toBe(dir);
      expect(s?.healthcheck?.test).toBeTruthy();
      expect(Object.keys(s?.environment ?? {}).length).toBeGreaterThan(0);
    },
  );

  it("starts services only after Kafka, Redis and ClickHouse are healthy", () => {
    for (const dir of serviceDirs.filter((d) => d !== "clickhouse-embedded")) {
      const deps = compose.services[dir]?.depends_on ?? {};
      expect(deps.kafka?.condition, dir).toBe("service_healthy");
      expect(deps.clickhouse?.condition, dir).toBe("service_healthy");
    }
  });
});
