/**
 * Room for requests in progress: at most `maxRequests` at once, holding at most `maxBytes` of bodies.
 * A request takes its share before its body is read; one that finds no room is shed at once, so a flood
 * of large reviews costs a refusal each, never the memory to read them.
 */
export class LoadBudget {
  private requests = 0;
  private bytes = 0;
  private readonly maxRequests: number;
  private readonly maxBytes: number;

  constructor(maxRequests: number, maxBytes: number) {
    this.maxRequests = maxRequests;
    this.maxBytes = maxBytes;
  }

  /** Takes room for one request of up to `bytes`; the release, or undefined when there is no room. */
  take(bytes: number): (() => void) | undefined {
    // A body larger than the whole budget still gets through alone (it is capped by --max-body).
    const share = Math.min(bytes, this.maxBytes);
    if (this.requests >= this.maxRequests || (this.requests > 0 && this.bytes + share > this.maxBytes))
      return undefined;
    this.requests += 1;
    this.bytes += share;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.requests -= 1;
      this.bytes -= share;
    };
  }
}
