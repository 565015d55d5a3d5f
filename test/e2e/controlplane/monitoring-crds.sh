#!/usr/bin/env bash
# The Prometheus Operator CRDs the monitoring kit is written for (PodMonitor, ServiceMonitor,
# PrometheusRule), taken from the prometheus-operator Go module (its example/prometheus-operator-crd/)
# through the Go module proxy and cached under $TL_CACHE, so tests can server-side dry-run the kit.
#
#   monitoring-crds.sh     print "MONITORING_CRDS=<dir>"
set -euo pipefail

VERSION="${TL_PROMETHEUS_OPERATOR_VERSION:-v0.86.1}"
# shellcheck source=go-build.sh
source "$(dirname "$0")/go-build.sh"

dir="$CACHE/prometheus-operator-crds-$VERSION"
kinds=(podmonitors servicemonitors prometheusrules)
if [ ! -f "$dir/monitoring.coreos.com_prometheusrules.yaml" ]; then
  log "fetching github.com/prometheus-operator/prometheus-operator@$VERSION (its CRDs)"
  module_dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$module_dir" ] || { log "the module proxy gave no prometheus-operator@$VERSION"; exit 1; }
  mkdir -p "$dir"
  for kind in "${kinds[@]}"; do
    cp "$module_dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dir/"
  done
fi
echo "MONITORING_CRDS=$dir"
