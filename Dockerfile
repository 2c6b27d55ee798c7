# arbwatch on the official Bun image (pinned). Production dependencies only, from the lockfile;
# runs as the image's non-root `bun` user; migrations are applied by the app at start-up.
FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production --ignore-scripts

FROM oven/bun:1.4.5-slim
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    DATABASE_URL=file:/data/arbwatch.db
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN mkdir -p /data && chown bun:bun /data && chmod 0755 /usr/local/bin/docker-entrypoint.sh
EXPOSE 8080
# The entrypoint starts as root only to hand a freshly mounted volume to `bun`, then drops to it.
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["bun", "run", "src/main.ts"]
