# OphGate on Debian 12 with Node 20. Build: docker build -t ophgate .  Run: docker run -p 8042:8042 -p 11112:11112 -v ophgate-data:/data ophgate
FROM node:20-bookworm-slim
WORKDIR /opt/ophgate
ENV NODE_ENV=production \
    OPHGATE_DATA_DIR=/data \
    OPHGATE_HTTP__HOST=0.0.0.0 \
    OPHGATE_DIMSE__HOST=0.0.0.0
COPY package.json package-lock.json ./
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && \
    npm ci --no-audit --no-fund && \
    apt-get purge -y make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY . .
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8042 11112
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8042/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "bin/ophgate.js"]
CMD ["serve"]
