/** Named readiness checks (TLS loaded, informers synced, ...) and the draining switch. */
export class Readiness {
  private readonly checks = new Map<string, () => boolean>();
  private draining = false;

  /** Registers a check; the process is ready only when every check passes. */
  add(name: string, check: () => boolean): void {
    this.checks.set(name, check);
  }

  /** From now on the process reports not ready, so endpoints stop routing to it. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The names of failing checks; empty when ready. */
  failing(): string[] {
    const failing = [...this.checks].filter(([, check]) => !check()).map(([name]) => name);
    return this.draining ? ["draining", ...failing] : failing;
  }
}
