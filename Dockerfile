# syntax=docker/dockerfile:1
# The Lavendly server image: `serve` (API + a worker) by default, `worker` for workers alone.
# The build stage runs the same commands the tests check (test/ops/build.test.ts): npm ci, then
# `npm run build` (scripts/build.mjs -> dist/), then only production dependencies are kept.

FROM node:20-bookworm AS build
WORKDIR /app
# sqlite3 compiles here when no prebuilt binary is reachable (python3, make and g++ are in this image).
COPY package.json package-lock.json ./
# npm ci runs the `prepare` script (the console build), which skips until console/ is copied in.
COPY scripts/build-console.mjs scripts/build-console.mjs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY spec spec
COPY generated generated
COPY migrations migrations
COPY handlers handlers
COPY packages/mcp/package.json packages/mcp/package.json
COPY packages/mcp/src packages/mcp/src
COPY packages/framework/package.json packages/framework/package.json
COPY packages/framework/src packages/framework/src
COPY src src
COPY console console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Run stage: Node, Debian's ffmpeg/ffprobe, the DejaVu font the local still renderer draws with,
# tini as PID 1 (signals forwarded, ffmpeg children reaped). No compiler, no TypeScript, no root.
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8090 \
    LAVENDLY_DATA_DIR=/data \
    LAVENDLY_LOG_FORMAT=json \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# dist/ has the repository's layout (src/, handlers/, generated/, migrations/, packages/mcp/, spec/,
# package.json).
COPY --from=build /app/dist ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8090)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/src/cli/main.js"]
CMD ["serve"]
