import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TransientError, ValidationError } from "@chainscreen/errors";

/** Validators of the last successful download, for conditional requests. */
export interface FetchValidators {
  etag?: string | null;
  lastModified?: string | null;
}

/** Result of {@link fetchList}. */
export type FetchResult =
  | { status: "not-modified" }
  | {
      status: "downloaded";
      /** Temporary file holding the body; remove it with `cleanup()`. */
      path: string;
      bytes: number;
      etag: string | null;
      lastModified: string | null;
      cleanup(): Promise<void>;
    };

/** Options of {@link fetchList}. */
export interface FetchOptions extends FetchValidators {
  timeoutMs?: number;
  /** Largest accepted body (default 512 MB; SDN_ADVANCED.XML is ~80 MB). */
  maxBytes?: number;
  fetch?: typeof fetch;
}

/** True when `s` looks like an http(s) URL rather than a path. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * Downloads a list to a temporary file, streaming, with `If-None-Match`/`If-Modified-Since` from
 * the previous download. 304 → not-modified. 5xx, timeouts and network errors are
 * {@link TransientError}s; other statuses are {@link ValidationError}s.
 */
export async function fetchList(url: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const headers: Record<string, string> = { "user-agent": "chainscreen-watchlist-sync" };
  if (opts.etag) headers["if-none-match"] = opts.etag;
  if (opts.lastModified) headers["if-modified-since"] = opts.lastModified;
  const host = new URL(url).host;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers,
      redirect: "follow",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    });
  } catch (err) {
    throw new TransientError(`fetch failed: ${err instanceof Error ? err.message : String(err)}`, {
      context: { host },
      cause: err,
    });
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: "not-modified" };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const ctx = { context: { host, status: res.status } };
    if (res.status >= 500 || res.status === 429) {
      throw new TransientError(`fetch failed: HTTP ${res.status}`, ctx);
    }
    throw new ValidationError(`fetch failed: HTTP ${res.status}`, ctx);
  }
  const max = opts.maxBytes ?? 512 * 1024 * 1024;
  const dir = await mkdtemp(join(tmpdir(), "chainscreen-list-"));
  const name = basename(new URL(url).pathname) || "list";
  const path = join(dir, name.replace(/[^A-Za-z0-9._-]/g, "_"));
  let bytes = 0;
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    body.on("data", (c: Buffer) => {
      bytes += c.length;
      if (bytes > max)
        body.destroy(new ValidationError(`list larger than ${max} bytes`, { context: { host } }));
    });
    await pipeline(body, createWriteStream(path));
  } catch (err) {
    await cleanup();
    if (err instanceof ValidationError) throw err;
    throw new TransientError(
      `download failed: ${err instanceof Error ? err.message : String(err)}`,
      {
        context: { host },
        cause: err,
      },
    );
  }
  return {
    status: "downloaded",
    path,
    bytes,
    etag: res.headers.get("etag"),
    lastModified: res.headers.get("last-modified"),
    cleanup,
  };
}

/** Default list id for a format: OFAC formats share `ofac-sdn`. */
export function defaultListId(format: string, source: string): string {
  if (format.startsWith("ofac")) return "ofac-sdn";
  if (format === "opensanctions") return "opensanctions";
  const base = basename(source.replace(/[?#].*$/, "")).replace(/\.[a-z0-9]+$/i, "");
  const id = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "");
  return id.slice(0, 64) || "custom";
}
