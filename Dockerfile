# cliproxy: multi-stage build, runs as the non-root `node` user.
#   docker build -t cliproxy .
#   docker run -e PGSTORE_DSN=... -e CLIPROXY_API_KEYS=... -p 8317:8317 cliproxy
# (README: "Deployment". Written to be correct; no container engine runs in this project's CI.)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# scripts off: `prepare` (the build) needs the sources, copied below; no postinstall downloads
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CLIPROXY_HOST=0.0.0.0 \
    CLIPROXY_PORT=8317 \
    CLIPROXY_AUTH_DIR=/data/auth
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config.example.yaml ./config.example.yaml
# the file store (when PGSTORE_DSN is not set) lives in /data/auth, 0700, owned by `node`
RUN mkdir -p /data/auth && chown -R node:node /data && chmod 700 /data/auth
USER node
VOLUME ["/data"]
EXPOSE 8317
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CLIPROXY_PORT||8317)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/cliproxy.js"]
CMD ["serve"]
