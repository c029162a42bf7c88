import { buildProgram } from "./program.js";
import { errorText } from "./util.js";

const program = await buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`error: ${errorText(err)}\n`);
  process.exit(1);
}
