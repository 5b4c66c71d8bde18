# syntax=docker/dockerfile:1
# Both stages on the same Node image: the compile cache made in the build stage is only used by the
# same Node binary (Node ignores it otherwise and compiles as usual).
ARG NODE_IMAGE=node:22-slim

# Build stage: compile TypeScript, bundle the service into one file (scripts/bundle.mjs), and fill
# V8's compile cache for it so a new instance skips compiling ~14 MB of JavaScript.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci, or npm install from the same lock where optional platform packages are missing from the registry (see .ci/run)
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/bundle.mjs ./scripts/bundle.mjs
COPY src ./src
COPY tools ./tools
RUN npm run build && NODE_COMPILE_CACHE=/app/.compile-cache node dist/service.mjs --compile-only

# Runtime stage: Node 22 slim, no node_modules (the bundle carries its dependencies), non-root,
# started with node so signals reach the app.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
ENV NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=build --chown=node:node /app/dist/service.mjs /app/dist/service.mjs.map ./dist/
COPY --from=build --chown=node:node /app/dist/chunks ./dist/chunks
COPY --from=build --chown=node:node /app/.compile-cache ./.compile-cache
COPY --chown=node:node config ./config
USER node
EXPOSE 8080
# Old-space cap for the 512 MiB instance of cloudbuild.yaml (raise both with --memory): without it V8 sizes the
# heap from the host's memory and collects lazily. The young generation keeps its default size: shrinking it
# (--max-semi-space-size=4) brings RSS after 10,000 webhooks from ~210 to ~180 MB but costs ~25% more CPU per
# request in scavenges and slows start-up (docs/performance.md, "Memory"). The benchmarks read these flags.
CMD ["node", "--max-old-space-size=192", "dist/service.mjs"]
