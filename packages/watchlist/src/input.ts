import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { ValidationError } from "@chainscreen/errors";

/** A list file that cannot be read as the format it was given as. One clear message per failure. */
export class WatchlistFormatError extends ValidationError {
  constructor(
    format: string,
    source: string,
    reason: string,
    context: Record<string, unknown> = {},
  ) {
    super(`${format}: ${reason} (${source})`, { context: { format, source, ...context } });
  }
}

/**
 * Checks that `path` is a non-empty regular file whose first bytes look like text; throws a
 * {@link WatchlistFormatError} naming the problem otherwise.
 */
export async function checkTextFile(path: string, format: string): Promise<void> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unknown";
    throw new WatchlistFormatError(format, path, `cannot read file (${code})`);
  }
  if (!s.isFile()) throw new WatchlistFormatError(format, path, "not a regular file");
  if (s.size === 0) throw new WatchlistFormatError(format, path, "empty file");
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(Math.min(4096, s.size));
    await fh.read(buf, 0, buf.length, 0);
    if (looksBinary(buf)) {
      throw new WatchlistFormatError(format, path, "binary data, not a text file");
    }
  } finally {
    await fh.close();
  }
}

/**
 * True when bytes hold NULs or many control characters. Latin-1/UTF-8 text, CR/LF/TAB and the
 * DOS end-of-file byte 0x1A that OFAC appends are fine.
 */
export function looksBinary(buf: Uint8Array): boolean {
  let ctrl = 0;
  for (const b of buf) {
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1a) ctrl++;
  }
  return buf.length > 0 && ctrl / buf.length > 0.01;
}

/** Opens a file as a stream of strings in the given encoding. */
export function textStream(path: string, encoding: BufferEncoding): Readable {
  return createReadStream(path, { encoding, highWaterMark: 1 << 16 });
}

/** Parses an OFAC-style date (`2018-11-28`, `28 Nov 2018`) or ISO text to ms; null if unreadable. */
export function parseDateMs(s: string | null | undefined): number | null {
  if (!s) return null;
  const t = s.trim();
  if (!t) return null;
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}
