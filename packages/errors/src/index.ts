/** Options common to every Chainscreen error. */
export interface ErrorOptions {
  /** True when trying again later may succeed (network, unavailable store); drives retry vs dead-letter. */
  retryable?: boolean;
  /** Structured, non-secret facts about the failure (ids, counts, field names) — never raw payloads. */
  context?: Record<string, unknown>;
  cause?: unknown;
}

/** Base of every error the project throws on purpose. */
export class BaseError extends Error {
  readonly retryable: boolean;
  readonly context: Record<string, unknown> | undefined;

  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retryable = opts.retryable ?? false;
    this.context = opts.context;
  }
}

/** Input that can never be processed as it is (bad message, bad file, bad request). */
export class ValidationError extends BaseError {
  constructor(message: string, opts: Omit<ErrorOptions, "retryable"> = {}) {
    super(message, { ...opts, retryable: false });
  }
}

/** A failure of something we depend on that may pass (timeouts, 5xx, broker or store unavailable). */
export class TransientError extends BaseError {
  constructor(message: string, opts: Omit<ErrorOptions, "retryable"> = {}) {
    super(message, { ...opts, retryable: true });
  }
}

/** True when the error says a retry may help; unknown errors are treated as retryable. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof BaseError) return err.retryable;
  return true;
}

/** Message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
