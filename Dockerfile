# syntax=docker/dockerfile:1
# Both stages on the same Node image: the code cache made in the build stage is only used by the
# same Node binary with the same V8 flags (otherwise V8 rejects it and the service compiles as usual).
ARG NODE_IMAGE=node:22-slim

# Build stage: compile TypeScript, bundle the service into one file (scripts/bundle.mjs), and write
# V8's code cache for it (scripts/service-launcher.cjs) so a new instance skips compiling ~15 MB of
# JavaScript. The cache step runs node with the CMD's flags: V8 only takes a cache made under the same ones.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Strict: a lock file out of sync with package.json fails the image build (README, Development).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/bundle.mjs scripts/service-launcher.cjs ./scripts/
COPY src ./src
COPY tools ./tools
# The admin console's source (console/build.mjs writes dist/console, served at /admin/console/).
COPY console ./console
# `npm run build` builds the client package too (client/); it is not part of the image.
COPY client ./client
RUN npm run build && node --max-old-space-size=192 --max-semi-space-size=16 --heap-growing-percent=40 dist/service.cjs --write-code-cache

# Runtime stage: Node 22 slim, no node_modules (the bundle carries its dependencies), non-root,
# started with node so signals reach the app.
FROM ${NODE_IMAGE}
# At most two glibc malloc arenas (the default is 8 per core): the service's native allocations come
# from a few threads, and more arenas only hold more free memory (~5-8 MB of RSS, docs/performance.md).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build --chown=node:node /app/dist/service.cjs /app/dist/service.bundle.cjs /app/dist/service.bundle.cjs.map /app/dist/service.bundle.cjs.v8cache ./dist/
COPY --from=build --chown=node:node /app/dist/console ./dist/console
COPY --chown=node:node config ./config
USER node
EXPOSE 8080
# Heap sizing for the 512 MiB instance of cloudbuild.yaml (raise the old space with --memory). Without flags V8
# sizes the heap from the host's memory and collects lazily (RSS > 300 MB after 10,000 webhooks). An old-space cap
# alone makes V8 grow the old generation by only ~1.3x its live size, so it runs a mark-compact every few MB of
# promotion: ~0.4 ms of CPU per webhook. So: the cap, V8's default young generation (16 MB semi-spaces: half as
# many scavenges as 8 MB, and less promoted) and a fixed old-generation growing factor of 1.4, which together keep
# RSS under 200 MB with Marketplace pull on (docs/performance.md, "Memory" and "What moved the figures"). The
# benchmarks read these flags; the build stage's code cache step must use the same ones (test/deploy checks both).
CMD ["node", "--max-old-space-size=192", "--max-semi-space-size=16", "--heap-growing-percent=40", "dist/service.cjs"]
