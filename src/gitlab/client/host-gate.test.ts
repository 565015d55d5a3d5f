import { describe, expect, it } from "vitest";
import { HostGate } from "./host-gate.ts";

const host = "https://gitlab.example";

function gateAt(start = 0) {
  const clock = { now: start };
  const gate = new HostGate(
    () => clock.now,
    () => 0.5, // no jitter: windows of exactly 500, 1000, 2000, 4000, 5000 ms
  );
  return { gate, clock };
}

describe("HostGate", () => {
  it("holds an unreachable host for a window that doubles to 5 s, counting one failure per window", () => {
    const { gate, clock } = gateAt();
    const windows: number[] = [];
    for (let i = 0; i < 6; i++) {
      gate.unreachable(host);
      gate.unreachable(host); // a second call failing in the same window does not count
      const { ms } = gate.wait(host);
      windows.push(ms);
      clock.now += ms;
    }
    expect(windows).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });

  it("frees a host and tells listeners once it answers again", () => {
    const { gate, clock } = gateAt();
    const recovered: string[] = [];
    gate.onRecovered((h) => recovered.push(h));
    gate.answered(host);
    expect(recovered).toEqual([]); // it was never down
    gate.unreachable(host);
    clock.now += 500;
    gate.answered(host);
    expect(recovered).toEqual([host]);
    expect(gate.wait(host)).toEqual({ ms: 0 });
    gate.unreachable(host);
    expect(gate.wait(host).ms).toBe(500); // backoff starts over
  });

  it("keeps a Retry-After hold when the host answers", () => {
    const { gate, clock } = gateAt();
    gate.hold(host, 3000);
    gate.answered(host);
    expect(gate.wait(host)).toEqual({ ms: 3000, reason: "retry-after" });
    gate.hold(host, 1000); // a shorter hold never shortens a longer one
    expect(gate.wait(host).ms).toBe(3000);
    clock.now += 3000;
    expect(gate.wait(host)).toEqual({ ms: 0 });
  });

  it("remembers only hosts in trouble, at most 1000", () => {
    const { gate } = gateAt();
    for (let i = 0; i < 1500; i++) gate.unreachable(`https://h${i}.example`);
    expect(gate.wait("https://h0.example").ms).toBe(0);
    expect(gate.wait("https://h1499.example").ms).toBe(500);
  });
});
