#!/usr/bin/env bash
# Makes sure a Go toolchain new enough to build the pinned Kubernetes (go.mod says go 1.26) is on PATH.
# Uses the machine's Go when it is recent enough; otherwise fetches the official toolchain from the Go
# module proxy (golang.org/toolchain), which is a package registry, into the tekton-lineage cache.
# Prints the directory to put first on PATH.
set -euo pipefail
want="${TL_GO_VERSION:-1.26.8}"
cache="${TL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage}"

version_ok() { # $1 = "go1.26.8" style
  local v="${1#go}" major minor
  major="${v%%.*}"; minor="$(echo "$v" | cut -d. -f2)"
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 26 ]; }
}

if command -v go >/dev/null 2>&1; then
  have="$(go env GOVERSION 2>/dev/null || true)"
  if [ -n "$have" ] && version_ok "$have"; then dirname "$(command -v go)"; exit 0; fi
fi

dir="$cache/go-$want"
if [ ! -x "$dir/bin/go" ]; then
  arch="$(uname -m)"; case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  proxy="${GOPROXY:-https://proxy.golang.org}"; proxy="${proxy%%,*}"
  url="$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
  echo "[ensure-go] fetching Go $want from $url" >&2
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$url"
  (cd "$tmp" && python3 -c 'import zipfile,sys; zipfile.ZipFile("go.zip").extractall(".")')
  mkdir -p "$cache"
  rm -rf "$dir"
  mv "$tmp/golang.org/toolchain@v0.0.1-go$want.linux-$arch" "$dir"
  chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
fi
echo "$dir/bin"
