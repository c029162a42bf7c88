import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A process the supervisor runs. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Restart when it exits unexpectedly (default true). */
  restart?: boolean;
  /** Colour index for the log prefix. */
  color?: number;
}

const COLORS = [36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96];

/**
 * Runs processes with prefixed output, restarts crashed ones with backoff (1 s doubling to 30 s,
 * reset after a minute of uptime), and stops them in reverse start order on shutdown: intake
 * first when the start order is infrastructure → consumers → producers.
 */
export class Supervisor {
  private readonly procs = new Map<
    string,
    { spec: ProcessSpec; child: ChildProcess | null; delay: number; startedAt: number }
  >();
  private readonly order: string[] = [];
  private stopping = false;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  /** Starts a process and keeps it running. */
  start(spec: ProcessSpec): void {
    this.order.push(spec.name);
    this.procs.set(spec.name, { spec, child: null, delay: 1000, startedAt: 0 });
    this.launch(spec.name);
  }

  private prefix(spec: ProcessSpec): string {
    const c = COLORS[(spec.color ?? this.order.indexOf(spec.name)) % COLORS.length];
    const name = spec.name.padEnd(18).slice(0, 18);
    return (this.out as { isTTY?: boolean }).isTTY ? `\x1b[${c}m${name}\x1b[0m| ` : `${name}| `;
  }

  private launch(name: string): void {
    const p = this.procs.get(name);
    if (!p || this.stopping) return;
    const child = spawn(p.spec.command, p.spec.args, {
      cwd: p.spec.cwd,
      env: { ...process.env, ...p.spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.child = child;
    p.startedAt = Date.now();
    const prefix = this.prefix(p.spec);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => this.out.write(`${prefix}${line}\n`));
    }
    child.on("exit", (code, signal) => {
      p.child = null;
      if (this.stopping) return;
      this.out.write(`${prefix}exited (${signal ?? code})\n`);
      if (p.spec.restart === false) return;
      if (Date.now() - p.startedAt > 60_000) p.delay = 1000;
      this.out.write(`${prefix}restarting in ${p.delay} ms\n`);
      setTimeout(() => this.launch(name), p.delay).unref();
      p.delay = Math.min(30_000, p.delay * 2);
    });
  }

  /** Names and pids of running processes. */
  running(): { name: string; pid: number | undefined }[] {
    return this.order.map((n) => ({ name: n, pid: this.procs.get(n)?.child?.pid }));
  }

  /** SIGTERM to each process in reverse start order, waiting up to graceMs for each. */
  async stopAll(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    for (const name of [...this.order].reverse()) {
      const child = this.procs.get(name)?.child;
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
      if ((await Promise.race([exited, timer])) === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
    }
  }
}
