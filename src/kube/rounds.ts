import { jitter } from "./backoff.ts";

/**
 * A round repeated every period (±20 % jitter, so replicas started together drift apart), never two at
 * once, until stopped: the loop of leader election and of bucket membership.
 */
export class Rounds {
  private readonly periodMs: number;
  private readonly round: () => Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private current: Promise<void> = Promise.resolve();

  constructor(periodMs: number, round: () => Promise<void>) {
    this.periodMs = periodMs;
    this.round = round;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.running) return;
      this.current = this.round().finally(() => {
        if (this.running) this.timer = setTimeout(loop, jitter(this.periodMs, 0.2));
      });
    };
    loop();
  }

  /** Starts no further round; resolves when the one under way (if any) has ended. */
  stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    return this.current;
  }
}
