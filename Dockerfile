# syntax=docker/dockerfile:1
# tekton-lineage: build with the full toolchain, run on a small non-root Node 24 image with production
# dependencies only.

# Base images are pinned by the digest of their multi-arch index (amd64 and arm64), so a release is rebuilt
# from the same bytes; Dependabot (.github/dependabot.yml) proposes new digests, and
# release/pins.test.ts refuses a FROM without one. The build stage runs on the builder's own
# platform (the output is JavaScript and production dependencies have no native code), so an arm64
# image needs no emulated npm.
FROM --platform=$BUILDPLATFORM node:24-bookworm-slim@sha256:3638d9a6fe4030bd716be989438248074489337ba3275657f93595428be4fc03 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` dev dependency (a Node binary for tests) and the other dev tools are not needed to build
# inside an image that already has Node 24; install scripts stay off.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
WORKDIR /app
ENV NODE_ENV=production \
    # A small young generation (the cache is long-lived) and a heap ceiling well under the Deployment's
    # 384 MiB limit, so V8 collects before memory grows under a flood of large reviews
    # (test/e2e/load-shedding.e2e.test.ts runs with the same options).
    NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256" \
    MALLOC_ARENA_MAX=2
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
CMD ["all"]
