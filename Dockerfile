# The production image: the compiled app with production dependencies, on Node 24 (LTS).
#   docker build -t clickdesk-bot .            (podman build --format docker -t clickdesk-bot .)
#   docker build --target simulator -t clickdesk-bot-simulator .   (the ClickDesk simulator, for trials)
# Settings come from the environment (.env.example); docs/deployment.md runs it.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: the toolchain better-sqlite3 compiles with when no prebuilt binary fits this Node.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes Node's headers from the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/kit/package.json packages/kit/
COPY packages/sandbox/package.json packages/sandbox/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime: no compiler, no dev dependencies, no source; runs as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=3000 \
    HEALTH_PORT=3001 \
    DATA_DIR=/app/data \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256"
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/kit/package.json packages/kit/
COPY --from=build /app/packages/kit/bin packages/kit/bin
COPY --from=build /app/packages/kit/dist/src packages/kit/dist/src
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node

# The simulator standing in for ClickDesk (compose's `sandbox` profile); never a production target.
FROM runtime AS simulator
COPY --from=build /app/packages/sandbox/package.json packages/sandbox/
COPY --from=build /app/packages/sandbox/dist/src packages/sandbox/dist/src
ENV SIMULATOR_PORT=4100
EXPOSE 4100
CMD ["node", "packages/sandbox/dist/src/serve.js"]

# The app (the default target). Node is PID 1 and drains on SIGTERM within SHUTDOWN_TIMEOUT_MS.
FROM runtime AS app
COPY --from=build /app/dist/src dist/src
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTH_PORT || process.env.HTTP_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
