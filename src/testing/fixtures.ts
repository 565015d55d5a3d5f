import { readFileSync } from "node:fs";

/** Reads a JSON fixture that sits next to the calling test (pass import.meta.url). */
export function fixture<T = Record<string, unknown>>(base: string, name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, base), "utf8")) as T;
}

export function fixtureText(base: string, name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, base), "utf8");
}
