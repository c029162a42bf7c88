# One image for every service: SERVICE selects services/<SERVICE>/src/main.ts.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production KAFKAJS_NO_PARTITIONER_WARNING=1
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY infra ./infra
COPY test/package.json ./test/package.json
COPY bench/package.json ./bench/package.json
RUN npm ci --no-audit --no-fund --loglevel=error
ARG SERVICE
ENV SERVICE=${SERVICE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
CMD ["sh", "-c", "exec npx tsx services/${SERVICE}/src/main.ts"]
