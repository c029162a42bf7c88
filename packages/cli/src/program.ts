import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";

/**
 * Builds the `chainscreen` program. Every module in ./commands exports
 * `register(program: Command)`; they are loaded in name order, so a command file that extends
 * another's parent command (e.g. `backfill bitcoin` under `backfill`) must look it up with
 * `program.commands.find`.
 */
export async function buildProgram(): Promise<Command> {
  const program = new Command("chainscreen")
    .description("Chainscreen: blockchain transaction monitoring and sanctions screening")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  const dir = join(import.meta.dirname, "commands");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as {
      register?: (p: Command) => void;
    };
    mod.register?.(program);
  }
  return program;
}
