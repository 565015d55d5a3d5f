// The in-memory ObjectCache serves the CLI too; tests import it from here as before.
export { MemoryCache } from "../kube/memory-cache.ts";
