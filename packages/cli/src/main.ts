import { buildProgram } from "./program.js";
import { errorText } from "./util.js";

// Output piped into `head` closes early: that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = await buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`error: ${errorText(err)}\n`);
  process.exit(1);
}
