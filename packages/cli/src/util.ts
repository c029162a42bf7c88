import { SingleBar } from "cli-progress";

/** Message of a thrown value, for one-line CLI errors. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Prints a one-line error and exits 1 (CLI only). */
export function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

/**
 * A progress bar on stderr with rate and ETA; falls back to a line every few seconds when
 * stderr is not a terminal (CI logs).
 */
export function progressBar(total: number, unit: string) {
  const tty = process.stderr.isTTY;
  const t0 = Date.now();
  let last = 0;
  let value = 0;
  const bar = tty
    ? new SingleBar({
        format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      })
    : null;
  bar?.start(total, 0, { rate: "0" });
  const rate = () => (value / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1);
  return {
    update(v: number) {
      value = v;
      if (bar) bar.update(v, { rate: rate() });
      else if (Date.now() - last > 5000) {
        last = Date.now();
        const eta = Number(rate()) > 0 ? Math.round((total - v) / Number(rate())) : 0;
        process.stderr.write(`${v}/${total} ${unit} (${rate()} ${unit}/s, ETA ${eta}s)\n`);
      }
    },
    stop() {
      bar?.stop();
      process.stderr.write(
        `done: ${value} ${unit} in ${((Date.now() - t0) / 1000).toFixed(1)}s (${rate()} ${unit}/s)\n`,
      );
    },
  };
}
