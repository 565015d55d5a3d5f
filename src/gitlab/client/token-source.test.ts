import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeConfigFor, serve, type TestServer } from "../../testing/http.ts";
import { TokenError, TokenSource } from "./token-source.ts";

/** An API server that has every Secret asked for; the token is what the name says ("huge" is 100 KiB). */
let server: TestServer;
let reads = 0;

beforeAll(async () => {
  server = await serve((req, res) => {
    reads += 1;
    const name = /\/secrets\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "";
    const token = name === "huge" ? "x".repeat(100 * 1024) : `glpat-${name}`;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "Secret",
        metadata: { name },
        data: { token: Buffer.from(token).toString("base64") },
      }),
    );
  });
});

afterAll(async () => {
  await server.close();
});

function source(): TokenSource {
  const kc = kubeConfigFor(server.url);
  return new TokenSource(kc);
}

describe("TokenSource", () => {
  it("reads a token once a minute, and holds at most 1000 whatever the Repositories name", async () => {
    const tokens = source();
    expect(await tokens.token({ namespace: "a", name: "one", key: "token" })).toBe("glpat-one");
    const before = reads;
    expect(await tokens.token({ namespace: "a", name: "one", key: "token" })).toBe("glpat-one");
    expect(reads).toBe(before);
    for (let i = 0; i < 1100; i++) await tokens.token({ namespace: "a", name: `s${i}`, key: "token" });
    expect(tokens.size).toBe(1000);
  });

  it("refuses a Secret that holds more than a token could be", async () => {
    const read = source().token({ namespace: "a", name: "huge", key: "token" });
    await expect(read).rejects.toBeInstanceOf(TokenError);
    await expect(read).rejects.toThrow(/not a GitLab token/);
  });
});
