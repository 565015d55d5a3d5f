import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The client certificate the local API server presents to every webhook (an AdmissionConfiguration
 * whose kubeConfigFile names it for host "*"), and the CA that signed it: tekton-lineage's --client-ca.
 * What a cluster admin configures so that only the API server can send admission reviews.
 */
export function webhookClientAuth(dir: string): { admissionConfig: string; clientCa: string } {
  const out = join(dir, "webhook-client");
  mkdirSync(out, { recursive: true });
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const [caKey, caCrt, key, csr, crt] = ["ca.key", "ca.crt", "client.key", "client.csr", "client.crt"].map(
    (f) => join(out, f),
  ) as [string, string, string, string, string];
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey);
  openssl(
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-sha256",
    "-days",
    "3",
    "-subj",
    "/CN=webhook client CA",
    "-out",
    caCrt,
  );
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key);
  openssl("req", "-new", "-key", key, "-subj", "/CN=kube-apiserver", "-out", csr);
  writeFileSync(join(out, "ext.cnf"), "extendedKeyUsage=clientAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caCrt,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-CAserial",
    join(out, "ca.srl"),
    "-days",
    "3",
    "-sha256",
    "-extfile",
    join(out, "ext.cnf"),
    "-out",
    crt,
  );
  const b64 = (file: string) => readFileSync(file).toString("base64");
  const kubeconfig = join(out, "webhook-client.kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "users:",
      '  - name: "*"',
      "    user:",
      `      client-certificate-data: ${b64(crt)}`,
      `      client-key-data: ${b64(key)}`,
      "",
    ].join("\n"),
  );
  const admissionConfig = join(out, "admission-config.yaml");
  const plugin = (name: string) =>
    [
      `  - name: ${name}`,
      "    configuration:",
      "      apiVersion: apiserver.config.k8s.io/v1",
      "      kind: WebhookAdmissionConfiguration",
      `      kubeConfigFile: ${kubeconfig}`,
    ].join("\n");
  writeFileSync(
    admissionConfig,
    [
      "apiVersion: apiserver.config.k8s.io/v1",
      "kind: AdmissionConfiguration",
      "plugins:",
      plugin("ValidatingAdmissionWebhook"),
      plugin("MutatingAdmissionWebhook"),
      "",
    ].join("\n"),
  );
  return { admissionConfig, clientCa: caCrt };
}
