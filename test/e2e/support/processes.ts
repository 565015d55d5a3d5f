import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";

export interface StartedProcess {
  child: ChildProcess;
  pid: number;
  logFile: string;
}

/**
 * On Linux, `setpriv --pdeathsig KILL` makes a child die with the process that started it, so a test run
 * that is itself killed (a CI time limit, `kill -9`) leaves no API server or webhook behind. setpriv execs
 * the program, so the pid stays the program's.
 */
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/** Starts a program with its output in a log file; `detached` lets it outlive this process (cluster-up). */
export function startProcess(
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; detached?: boolean; cwd?: string },
): StartedProcess {
  const out = openSync(options.logFile, "a");
  try {
    const tied = !options.detached && setpriv !== undefined;
    const [program, programArgs] = tied
      ? [setpriv as string, ["--pdeathsig", "KILL", "--", command, ...args]]
      : [command, args];
    const child = spawn(program, programArgs, {
      stdio: ["ignore", out, out],
      env: options.env ?? process.env,
      detached: options.detached ?? false,
      cwd: options.cwd,
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    if (options.detached) child.unref();
    return { child, pid: child.pid, logFile: options.logFile };
  } finally {
    closeSync(out);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}
