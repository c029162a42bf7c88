import { pino } from "pino";

/** The logger type used across the project. */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  service: string;
  /** pino level; default info. */
  level?: string;
  /** Human-readable output (development only). */
  pretty?: boolean;
  /** Write to this destination instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

// Paths that may carry secrets anywhere in a log record.
const REDACT = [
  "password",
  "secret",
  "secrets",
  "apiKey",
  "authorization",
  "*.password",
  "*.secret",
  "*.secrets",
  "*.apiKey",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "sasl.password",
];

/** JSON logger to stdout with secrets redacted; `child({ topic, partition })` for context. */
export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level ?? "info",
    base: { service: opts.service },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  if (opts.destination) return pino(base, opts.destination);
  return pino(base);
}

/** A logger that discards everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
