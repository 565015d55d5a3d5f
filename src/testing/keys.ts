import { type KeyEntry, signingKeyId } from "../kube/signing-keys.ts";

/** A signing key of 32 repeated characters, with its id; for unit tests. */
export function testKey(char: string): KeyEntry & { key: Buffer } {
  const key = Buffer.from(char.repeat(32));
  return { id: signingKeyId(key), key } as KeyEntry & { key: Buffer };
}
