import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";

/** Where the store is: any ClickHouse HTTP endpoint (the embedded server or a real one). */
export interface StoreConfig {
  /** e.g. http://127.0.0.1:8123 or https://host:8443 */
  url: string;
  username: string;
  password: string;
  database: string;
  /** Per-request timeout (ms); default 60 s. */
  requestTimeoutMs?: number;
  /** gzip request and response bodies (worth it over a network, not on loopback). */
  compression?: boolean;
}

/** A @clickhouse/client for the store (same code for the embedded engine and a real server). */
export function createStoreClient(config: StoreConfig): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database: config.database,
    request_timeout: config.requestTimeoutMs ?? 60_000,
    compression: { request: config.compression ?? false, response: config.compression ?? false },
    application: "chainscreen",
    // Callers classify and log failures themselves (without row data); the client's own error
    // log would print every failed request a second time.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
