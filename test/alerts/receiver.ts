import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a test receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers: a status, optionally after a delay (ms). */
export type Behaviour = (req: Received, n: number) => { status: number; delayMs?: number };

/** A local HTTP webhook receiver that records every request (its raw body and headers). */
export class Receiver {
  readonly requests: Received[] = [];
  behaviour: Behaviour = () => ({ status: 200 });
  #server: Server | null = null;
  port = 0;
  /** Requests being answered right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;

  /** Event ids answered with 2xx, in order (duplicates kept: receivers de-duplicate). */
  get delivered(): string[] {
    return this.#ok;
  }
  #ok: string[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = 0): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r: Received = {
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.requests.push(r);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const { status, delayMs } = this.behaviour(r, this.requests.length);
        const answer = () => {
          this.inFlight--;
          if (res.destroyed) return;
          if (status >= 200 && status < 300)
            this.#ok.push(String(r.headers["chainscreen-event-id"]));
          res.writeHead(status, { "content-type": "text/plain" });
          res.end(status >= 200 && status < 300 ? "ok" : "nope");
        };
        if (delayMs) setTimeout(answer, delayMs);
        else answer();
      });
    });
    this.#server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.#server?.listen(port, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
