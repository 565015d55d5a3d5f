/**
 * How often tekton-lineage may set a lineage's status right against another writer: at most `max`
 * repairs per window; then it stops contesting until the oldest repair leaves the window, so two writers
 * never flap. Per lineage; forgotten with the lineage.
 */
export class RepairBudget {
  private readonly repairs = new Map<string, number[]>();
  private readonly max: number;
  private readonly windowMs: number;

  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  /** Takes a repair if one is left ({ allowed: true }); else says until when (own clock) none is. */
  take(lineageId: string, now: number): { allowed: true } | { allowed: false; until: number } {
    const recent = (this.repairs.get(lineageId) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length < this.max) {
      recent.push(now);
      this.repairs.set(lineageId, recent);
      return { allowed: true };
    }
    this.repairs.set(lineageId, recent);
    return { allowed: false, until: (recent[0] ?? now) + this.windowMs };
  }

  forget(lineageId: string): void {
    this.repairs.delete(lineageId);
  }
}
