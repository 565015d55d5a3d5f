import { writeFileSync } from "node:fs";

/** Writes a kubeconfig for one user of one server, authenticated by a bearer token. */
export function writeKubeconfig(
  file: string,
  options: { server: string; caPem: string; user: string; token: string },
) {
  const ca = Buffer.from(options.caPem).toString("base64");
  const text = `apiVersion: v1
kind: Config
clusters:
  - name: tekton-lineage-local
    cluster:
      server: ${options.server}
      certificate-authority-data: ${ca}
users:
  - name: ${options.user}
    user:
      token: ${options.token}
contexts:
  - name: ${options.user}@tekton-lineage-local
    context:
      cluster: tekton-lineage-local
      user: ${options.user}
current-context: ${options.user}@tekton-lineage-local
`;
  writeFileSync(file, text, { mode: 0o600 });
}
