# syntax=docker/dockerfile:1
# opsguard: build with the dev dependencies, run with the production ones only, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    OPSGUARD_SERVER_HOST=0.0.0.0 \
    OPSGUARD_DATA_DIR=/data \
    OPSGUARD_BACKUP_REPOSITORY=/backups
WORKDIR /app
# Backups run restic; ca-certificates for remote repositories over HTTPS (s3:, rest:, b2:).
RUN apt-get update \
  && apt-get install -y --no-install-recommends restic ca-certificates \
  && rm -rf /var/lib/apt/lists/*
# package.json is read at run time for the version; the lockfile by the security checks, which
# compare the installed packages with it (OG-DEP-001) and ask npm audit about it (OG-DEP-002).
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The data folder belongs to the unprivileged `node` user of the base image; a named volume
# mounted there takes over this ownership.
RUN mkdir -p /data /backups && chown node:node /data /backups && chmod 0700 /data /backups
USER node
EXPOSE 8080
# /readyz answers 200 once recovery is done; the image has no curl or wget, but it has node.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
