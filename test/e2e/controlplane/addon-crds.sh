#!/usr/bin/env bash
# The CRDs of the add-ons tekton-lineage's install components are written for, taken from the add-ons'
# own Go modules through the Go module proxy and cached under $TL_CACHE, so tests can server-side
# dry-run the components: the Prometheus Operator's (PodMonitor, ServiceMonitor, PrometheusRule, from
# example/prometheus-operator-crd/) and cert-manager's (Certificate, Issuer, from deploy/crds/).
#
#   addon-crds.sh     print "MONITORING_CRDS=<dir>" and "CERT_MANAGER_CRDS=<dir>"
set -euo pipefail

PROMETHEUS_OPERATOR_VERSION="${TL_PROMETHEUS_OPERATOR_VERSION:-v0.86.1}"
CERT_MANAGER_VERSION="${TL_CERT_MANAGER_VERSION:-v1.19.1}"
# shellcheck source=go-build.sh
source "$(dirname "$0")/go-build.sh"

# Copies files of one module version into a cache folder once.
#   fetch_crds <module> <version> <out-dir> <path-in-module>...
fetch_crds() {
  local module="$1" version="$2" out="$3"; shift 3
  [ -f "$out/.complete" ] && return 0
  log "fetching $module@$version (its CRDs)"
  local dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { log "the module proxy gave no $module@$version"; exit 1; }
  mkdir -p "$out"
  for file in "$@"; do cp "$dir/$file" "$out/"; done
  touch "$out/.complete"
}

monitoring="$CACHE/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"
fetch_crds github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" "$monitoring" \
  example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml \
  example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
  example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml
certs="$CACHE/cert-manager-crds-$CERT_MANAGER_VERSION"
fetch_crds github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" "$certs" \
  deploy/crds/cert-manager.io_certificates.yaml deploy/crds/cert-manager.io_issuers.yaml
echo "MONITORING_CRDS=$monitoring"
echo "CERT_MANAGER_CRDS=$certs"
