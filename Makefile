# tekton-lineage. Two commands on a fresh machine: `make run` and `make test` (see README.md).
# npm scripts and these targets put node_modules/.bin first on PATH, so the Node 24 from the `node`
# package runs everything, whatever Node the machine has.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

STAMP := node_modules/.install-stamp
# `make e2e KUBECONFIG=~/.kube/config` runs the e2e suite against that cluster instead of a local one.
ifeq ($(origin KUBECONFIG),command line)
export E2E_KUBECONFIG := $(KUBECONFIG)
endif

.PHONY: help install build typecheck lint test unit e2e bench bench-scale run demo cluster-up cluster-down binaries \
        image e2e-kind release release-files chart configmap clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP) ## install npm dependencies (Node 24 included)

build: $(STAMP) ## compile to dist/
	tsc -p tsconfig.build.json

typecheck: $(STAMP) ## type-check sources and tests
	tsc -p tsconfig.json

lint: $(STAMP) ## biome lint and format check; imports of src/ point down its layers
	biome check .
	node test/lint/layers.ts

binaries: ## build (or reuse) the control plane's binaries, the test bed's (PaC, Tekton, kwok, kube-scheduler) and the release tools (helm, krew)
	bash test/e2e/controlplane/binaries.sh kubectl >/dev/null
	bash test/e2e/testbed/binaries.sh >/dev/null
	bash release/tools.sh >/dev/null

test: $(STAMP) ## everything: typecheck, lint, unit and e2e tests (starts its own control plane and test bed)
	bash test/e2e/controlplane/binaries.sh kubectl >/dev/null
	bash test/e2e/testbed/binaries.sh >/dev/null
	bash release/tools.sh >/dev/null
	npm test $(if $(VITEST_JSON),-- --reporter=default --reporter=json --outputFile.json=$(VITEST_JSON))

unit: $(STAMP) ## unit tests only
	vitest run --project unit

e2e: $(STAMP) build ## e2e tests only (KUBECONFIG=<file> on the command line uses that cluster)
	bash test/e2e/controlplane/binaries.sh kubectl >/dev/null
	bash test/e2e/testbed/binaries.sh >/dev/null
	bash release/tools.sh >/dev/null
	vitest run --project e2e

bench: $(STAMP) build ## benchmarks in bench/, printing figures and ratios
	bash test/e2e/controlplane/binaries.sh >/dev/null
	node bench/run.ts

bench-scale: $(STAMP) build ## 100k runs over 5k namespaces and 2k queues, 1 vs 3 replicas sharing buckets (SCALE_RUNS=... to size it)
	bash test/e2e/controlplane/binaries.sh >/dev/null
	node bench/run.ts scale

run: $(STAMP) build ## local control plane + tekton-lineage + fake GitLab + simulated Tekton (Ctrl-C to stop)
	node test/local/run.ts

demo: $(STAMP) build ## replay the reported failure and print the GitLab status timeline
	node test/local/demo.ts

RELEASE_YAML ?= dist/tekton-lineage.yaml
release: $(STAMP) ## render the in-cluster release into dist/tekton-lineage.yaml (IMAGE=...; uses kustomize or kubectl from the PATH, else builds kubectl once)
	@mkdir -p $(dir $(RELEASE_YAML))
	bash test/e2e/controlplane/kustomize.sh webhook-config/overlays/in-cluster \
	  | sed "s#image: ghcr.io/tekton-lineage/tekton-lineage:.*#image: $(or $(IMAGE),ghcr.io/tekton-lineage/tekton-lineage:v0.1.0)#" \
	  > $(RELEASE_YAML)
	@echo "wrote $(RELEASE_YAML)"

chart: $(STAMP) ## regenerate the Helm chart (charts/tekton-lineage) from webhook-config/ and the settings table
	node release/chart/generate.ts

release-files: $(STAMP) ## what the tag workflow attaches, in dist/release (TAG=v<version> IMAGE=<repository>@sha256:...)
	bash release/build.sh "$(TAG)" "$(IMAGE)"

configmap: $(STAMP) ## regenerate the ConfigMap and docs/settings.md from the settings table
	node src/config/configmap.ts > webhook-config/base/configmap.yaml
	node src/config/configmap.ts doc > docs/settings.md

cluster-up: $(STAMP) ## start the local control plane alone; prints `export KUBECONFIG=...`
	@node test/e2e/controlplane/cli.ts up

cluster-down: $(STAMP) ## stop the local control plane
	@node test/e2e/controlplane/cli.ts down

image: ## build the container image (needs Docker)
	docker build -t tekton-lineage:dev .

e2e-kind: ## kind cluster + real Tekton: smoke test and the e2e suite (needs Docker; E2E_KIND_DRY_RUN=1 checks it without)
	bash test/e2e/kind/run.sh

clean: ## remove build output and local certificates
	rm -rf dist coverage certs/local
