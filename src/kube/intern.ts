/**
 * Shares one copy of repeated strings (repository names, branches, event types) among cached objects:
 * JSON parsing makes a new copy of every value. Bounded: past `limit` distinct strings, values are kept
 * as they come.
 */
export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly limit: number;

  constructor(limit = 50_000) {
    this.limit = limit;
  }

  intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < this.limit) this.strings.set(value, value);
    return value;
  }
}
