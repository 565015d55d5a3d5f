/** The TLS Secret's keys (as cert-manager writes them too). */
export const tlsKeys = { cert: "tls.crt", key: "tls.key", ca: "ca.crt", caKey: "ca.key" } as const;
