#!/usr/bin/env bash
# Makes a local CA and a serving certificate for tekton-lineage, for local runs and tests.
# Private keys are written to the output directory (default certs/local, ignored by git) and never committed.
#
#   certs/make-certs.sh [OUT_DIR] [EXTRA_SAN ...]
#
# Environment: SERVICE (default tekton-lineage), NAMESPACE (default tekton-lineage), DAYS (default 365),
# CA_DIR (reuse the CA in that directory instead of making a new one, for rotation tests).
# SANs: 127.0.0.1, ::1, localhost, and the in-cluster Service names
#   SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc, SERVICE.NAMESPACE.svc.cluster.local
set -euo pipefail

out="${1:-$(dirname "$0")/local}"
shift || true
service="${SERVICE:-tekton-lineage}"
namespace="${NAMESPACE:-tekton-lineage}"
days="${DAYS:-365}"
ca_dir="${CA_DIR:-$out}"

command -v openssl >/dev/null || { echo "make-certs: openssl is required" >&2; exit 1; }
mkdir -p "$out"
umask 077

if [ ! -s "$ca_dir/ca.crt" ] || [ ! -s "$ca_dir/ca.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$ca_dir/ca.key"
  openssl req -x509 -new -key "$ca_dir/ca.key" -sha256 -days "$((days * 3))" \
    -subj "/CN=tekton-lineage local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$ca_dir/ca.crt" 2>/dev/null
fi
[ "$ca_dir" = "$out" ] || cp "$ca_dir/ca.crt" "$out/ca.crt"

sans="IP:127.0.0.1,IP:::1,DNS:localhost,DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc"
sans="$sans,DNS:$service.$namespace.svc.cluster.local"
for extra in "$@"; do
  case "$extra" in
    *[!0-9.]*) sans="$sans,DNS:$extra" ;;
    *) sans="$sans,IP:$extra" ;;
  esac
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
cat >"$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
# Replace the pair so that a process reloading on change never sees a new key with an old certificate
# for long: write both, then move the key first and the certificate last.
cp "$work/tls.key" "$out/tls.key.new" && cp "$work/tls.crt" "$out/tls.crt.new"
mv "$out/tls.key.new" "$out/tls.key" && mv "$out/tls.crt.new" "$out/tls.crt"
chmod 644 "$out/tls.crt" "$out/ca.crt"
echo "make-certs: wrote $out/ca.crt, $out/tls.crt, $out/tls.key (SANs: $sans)" >&2
