/** Who may send reviews: any client, or only those with a certificate --client-ca signed (and named). */
export interface ClientRequirement {
  /** A certificate the server verified against --client-ca. */
  certificate: boolean;
  /** When not empty, its subject's common name must be one of these (--client-ca-subjects). */
  names?: readonly string[];
}

/** What is read of the client's connection (a TLSSocket). */
export interface ClientSocket {
  authorized: boolean;
  getPeerCertificate(): { subject?: { CN?: string | string[] } } | undefined;
}

/** Why a client may not send reviews, or undefined when it may. */
export function clientRefusal(socket: ClientSocket, required: ClientRequirement): string | undefined {
  if (!required.certificate) return undefined;
  if (!socket.authorized)
    return "admission reviews are accepted only from the API server: present a client certificate signed by --client-ca";
  const names = required.names ?? [];
  if (names.length === 0) return undefined;
  const subject = socket.getPeerCertificate()?.subject?.CN;
  const name = Array.isArray(subject) ? subject[0] : subject;
  if (name && names.includes(name)) return undefined;
  return `admission reviews are accepted only from the API server: the client certificate names ${JSON.stringify(name ?? "")}, not one of --client-ca-subjects`;
}
