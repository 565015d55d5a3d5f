#!/usr/bin/env bash
# Builds (or finds in the cache) the binaries of the real test bed, each from its Go module, pinned:
#   kube-scheduler, kube-controller-manager  k8s.io/kubernetes (the control plane's version)
#   kwok                                     sigs.k8s.io/kwok v0.7.0
#   tekton-controller                        github.com/tektoncd/pipeline v1.6.0 (cmd/controller)
#   pac-<version>/{controller,watcher}       github.com/openshift-pipelines/pipelines-as-code v0.37.0, v0.50.0
# Cached by version under $TL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage), like
# the control plane's binaries: a warm run builds nothing. Prints NAME=path lines.
#
# Replacements, because the versions these modules name are not served by the module proxy here:
#   PaC v0.50.0: github.com/rickb777/plural v1.4.11 -> v1.4.10
#   PaC v0.37.0: github.com/jenkins-x/go-scm v1.15.10 -> v1.15.12, code.gitea.io/gitea v1.23.7 -> v1.23.8
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../controlplane/go-build.sh
source "$here/../controlplane/go-build.sh"

KWOK_VERSION="${TL_KWOK_VERSION:-v0.7.0}"
TEKTON_VERSION="${TL_TEKTON_VERSION:-v1.6.0}"
PAC_VERSIONS="${TL_PAC_VERSIONS:-v0.37.0 v0.50.0}"
RECIPE=r1

# The module's own replace lines, as a wrapper module must repeat them (a dependency's replaces are ignored).
module_replaces() {
  local gomod
  gomod="$(go mod download -json "$1@$2" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  awk '
    /^replace \(/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && /=>/ { print "replace " $0; next }
    /^replace [^(]/ { print }
  ' "$gomod" | grep -v '=> \.' || true
}

kube_out="$CACHE/kubernetes-$KUBE_VERSION-$RECIPE_KUBE"
mkdir -p "$kube_out"
if [ ! -x "$kube_out/kube-scheduler" ] || [ ! -x "$kube_out/kube-controller-manager" ]; then
  build_from_module k8s.io/kubernetes "$KUBE_VERSION" "$kube_out" "$(kube_replaces)" "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager
fi

kwok_out="$CACHE/kwok-$KWOK_VERSION-$RECIPE"
mkdir -p "$kwok_out"
if [ ! -x "$kwok_out/kwok" ]; then
  build_from_module sigs.k8s.io/kwok "$KWOK_VERSION" "$kwok_out" "$(module_replaces sigs.k8s.io/kwok "$KWOK_VERSION")" "" \
    sigs.k8s.io/kwok/cmd/kwok
fi

tekton_out="$CACHE/tekton-$TEKTON_VERSION-$RECIPE"
mkdir -p "$tekton_out"
if [ ! -x "$tekton_out/controller" ]; then
  build_from_module github.com/tektoncd/pipeline "$TEKTON_VERSION" "$tekton_out" \
    "$(module_replaces github.com/tektoncd/pipeline "$TEKTON_VERSION")" "" \
    github.com/tektoncd/pipeline/cmd/controller
fi
# Tekton's CRDs and config travel with its module source.
tekton_src="$(go mod download -json "github.com/tektoncd/pipeline@$TEKTON_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"

pac_extra_replaces() {
  case "$1" in
    v0.50.0) echo "replace github.com/rickb777/plural => github.com/rickb777/plural v1.4.10" ;;
    v0.37.0) printf '%s\n' "replace github.com/jenkins-x/go-scm => github.com/jenkins-x/go-scm v1.15.12" \
                              "replace code.gitea.io/gitea => code.gitea.io/gitea v1.23.8" ;;
  esac
}
pac_module=github.com/openshift-pipelines/pipelines-as-code
for v in $PAC_VERSIONS; do
  out="$CACHE/pac-$v-$RECIPE"
  mkdir -p "$out"
  if [ ! -x "$out/pipelines-as-code-controller" ] || [ ! -x "$out/pipelines-as-code-watcher" ]; then
    build_from_module "$pac_module" "$v" "$out" \
      "$(module_replaces "$pac_module" "$v"; pac_extra_replaces "$v")" \
      "" \
      "$pac_module/cmd/pipelines-as-code-controller" "$pac_module/cmd/pipelines-as-code-watcher"
  fi
  src="$(go mod download -json "$pac_module@$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  echo "PAC_${v//./_}=$out"
  echo "PAC_SRC_${v//./_}=$src"
done

echo "KUBE_SCHEDULER=$kube_out/kube-scheduler"
echo "KUBE_CONTROLLER_MANAGER=$kube_out/kube-controller-manager"
echo "KWOK=$kwok_out/kwok"
echo "KWOK_SRC=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
echo "TEKTON_CONTROLLER=$tekton_out/controller"
echo "TEKTON_SRC=$tekton_src"
