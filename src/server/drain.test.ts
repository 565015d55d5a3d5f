import { describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { drain } from "./drain.ts";
import { InFlight } from "./in-flight.ts";
import { Readiness } from "./readiness.ts";

function fakeServer(events: string[]) {
  return {
    close: async () => {
      events.push("close");
    },
    closeAllConnections: () => {
      events.push("cut");
    },
  };
}

describe("drain", () => {
  it("fails readiness first, then stops accepting, waits for in-flight reviews, then cuts connections", async () => {
    const events: string[] = [];
    const readiness = new Readiness();
    readiness.add("tls", () => true);
    const inFlight = new InFlight();
    const end = inFlight.begin();
    setTimeout(() => {
      events.push("review finished");
      end();
    }, 80);
    const result = await drain({
      readiness,
      server: fakeServer(events),
      inFlight,
      delayMs: 20,
      timeoutMs: 2000,
      logger: silentLogger(),
    });
    expect(readiness.failing()).toEqual(["draining"]);
    expect(events).toEqual(["close", "review finished", "cut"]);
    expect(result.finishedInTime).toBe(true);
  });

  it("gives up on reviews that outlast the timeout", async () => {
    const inFlight = new InFlight();
    inFlight.begin();
    const events: string[] = [];
    const result = await drain({
      readiness: new Readiness(),
      server: fakeServer(events),
      inFlight,
      delayMs: 0,
      timeoutMs: 30,
      logger: silentLogger(),
    });
    expect(result.finishedInTime).toBe(false);
    expect(events).toEqual(["close", "cut"]);
  });
});

describe("Readiness", () => {
  it("is ready only when every check passes", () => {
    const readiness = new Readiness();
    let synced = false;
    readiness.add("informers-synced", () => synced);
    readiness.add("tls", () => true);
    expect(readiness.failing()).toEqual(["informers-synced"]);
    synced = true;
    expect(readiness.failing()).toEqual([]);
  });
});

describe("InFlight", () => {
  it("counts each request once, even if its end is reported twice", async () => {
    const inFlight = new InFlight();
    const end = inFlight.begin();
    inFlight.begin()();
    end();
    end();
    expect(inFlight.size).toBe(0);
    expect(await inFlight.idle(10)).toBe(true);
  });
});
