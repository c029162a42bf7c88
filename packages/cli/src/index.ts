export { buildProgram } from "./program.js";
export { fail, progressBar } from "./util.js";
