import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, registry } from "./metrics.js";

/** Options for {@link startOpsServer}. */
export interface OpsServerOptions {
  /** Port for /healthz, /readyz and /metrics; 0 picks a free one. */
  port: number;
  host?: string;
  /** Readiness: true once the service can do its work (connected, caught up enough). */
  isReady?: () => boolean;
  /** Extra facts for /readyz (e.g. lag). */
  details?: () => Record<string, unknown>;
}

/** A running ops server. */
export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves liveness (/healthz: the process answers), readiness (/readyz: 200 or 503) and
 * Prometheus metrics (/metrics) on a port of its own, apart from any public API.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  collectDefaultMetrics();
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
      return;
    }
    if (url === "/readyz") {
      const ready = opts.isReady ? opts.isReady() : true;
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ready ? "ready" : "not ready", ...opts.details?.() }));
      return;
    }
    if (url === "/metrics") {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
