#!/usr/bin/env node
// The entry point only checks the Node version before anything else is loaded: imports are evaluated
// before a module's own code, and on an old Node the dependencies crash while loading, unexplained.
import { nodeTooOld } from "./node-floor.ts";

const tooOld = nodeTooOld(process.versions.node);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const { runCli } = await import("./cli.ts");
runCli(process.argv.slice(2));
