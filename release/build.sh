#!/usr/bin/env bash
# The files of a release, in dist/release/, from a tag and the image the tag workflow pushed (by digest):
#   notes.md                        CHANGELOG.md's section of the version (release/notes.ts checks the tag)
#   tekton-lineage.yaml             the in-cluster install, the image by digest (make release)
#   tekton-lineage-<version>.tgz    the Helm chart, its default image that digest
#   kubectl-lineage-<tag>.tar.gz    the kubectl plugin with its production dependencies
#   lineage.yaml                    the plugin's krew manifest (the archive's URL and sha256)
#   SHA256SUMS
# The tag workflow (.github/workflows/release.yaml) runs it as `make release-files`;
# test/e2e/release.e2e.test.ts runs it with a made-up digest (RELEASE_OUT=<folder>) and installs what it
# made.
#
#   release/build.sh <tag> <repository@sha256:...> [<download base URL>]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="$1" image="$2"
base="${3:-https://github.com/tekton-lineage/tekton-lineage/releases/download/$tag}"
out="${RELEASE_OUT:-dist/release}"
say() { echo "[release] $*" >&2; }
[[ "$image" =~ ^[^@[:space:]]+@sha256:[0-9a-f]{64}$ ]] || { say "the image must be given by digest (repository@sha256:...), not $image"; exit 2; }

rm -rf "$out" && mkdir -p "$out"
node release/notes.ts "$tag" >"$out/notes.md"
helm="$(bash release/tools.sh | sed -n 's/^HELM=//p')"

say "install manifest"
make --no-print-directory release IMAGE="$image" RELEASE_YAML="$out/tekton-lineage.yaml" >&2

say "Helm chart"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -r charts/tekton-lineage "$stage/"
# The packaged chart installs exactly the image this release pushed.
sed -i "s#^  repository: .*#  repository: ${image%@*}#; s#^  digest: \"\"#  digest: \"${image#*@}\"#" "$stage/tekton-lineage/values.yaml"
grep -q "^  digest: \"${image#*@}\"" "$stage/tekton-lineage/values.yaml" || { say "could not set the chart's image digest"; exit 1; }
"$helm" package "$stage/tekton-lineage" --destination "$out" >&2

say "kubectl plugin"
plugin="$stage/plugin"
mkdir -p "$plugin"
npx --no-install tsc -p tsconfig.build.json --outDir "$plugin/dist"
cp package.json package-lock.json LICENSE "$plugin/"
# Production dependencies only, from the npm cache the checkout's own install filled.
(cd "$plugin" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null)
# krew unpacks regular files and folders only: npm's .bin links would fail its install.
rm -rf "$plugin/package-lock.json" "$plugin/node_modules/.bin"
links="$(find "$plugin" -type l)"
[ -z "$links" ] || { say "krew cannot unpack links: $links"; exit 1; }
chmod +x "$plugin/dist/kubectl-lineage.js" "$plugin/dist/main.js"
archive="kubectl-lineage-$tag.tar.gz"
tar -C "$plugin" --owner=0 --group=0 --sort=name -czf "$out/$archive" .
node release/krew.ts "$tag" "$out/$archive" "$base/$archive" >"$out/lineage.yaml"

(cd "$out" && sha256sum -- * >SHA256SUMS)
say "wrote $out: $(cd "$out" && echo *)"
