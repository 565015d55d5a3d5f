import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("writes one JSON line with the instance and a readable level", () => {
    const { lines, destination } = capture();
    createLogger({ level: "info", instance: "pod-a", destination }).info({ uid: "u1" }, "review");
    expect(lines[0]).toMatchObject({ level: "info", instance: "pod-a", uid: "u1", msg: "review" });
  });

  it("never writes tokens, wherever they sit", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", instance: "pod-a", destination });
    logger.info({ token: "glpat-secret", gitlab: { token: "glpat-secret" } }, "x");
    logger.info({ request: { headers: { "private-token": "glpat-secret" } } }, "y");
    expect(JSON.stringify(lines)).not.toContain("glpat-secret");
  });
});
