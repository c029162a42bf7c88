import client from "prom-client";

/** The process-wide Prometheus registry. */
export const registry = client.register;

let defaultsCollected = false;
/** Starts collecting process metrics (CPU, RSS, event loop lag) once. */
export function collectDefaultMetrics(prefix = "chainscreen_"): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  client.collectDefaultMetrics({ prefix });
}

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Counter, created once per name (safe to call from several modules or tests). */
export function counter(name: string, help: string, labelNames: string[] = []): client.Counter {
  return existing<client.Counter>(name) ?? new client.Counter({ name, help, labelNames });
}

/** Gauge, created once per name. */
export function gauge(name: string, help: string, labelNames: string[] = []): client.Gauge {
  return existing<client.Gauge>(name) ?? new client.Gauge({ name, help, labelNames });
}

/** Histogram, created once per name; default buckets suit latencies in seconds. */
export function histogram(
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): client.Histogram {
  return (
    existing<client.Histogram>(name) ?? new client.Histogram({ name, help, labelNames, buckets })
  );
}
