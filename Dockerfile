# wxlogin as a container: 微信云托管 (docs/wxcloudrun.md), SCF or Function Compute from an image
# (docs/scf.md, docs/fc.md), or any host. The server is package.json's "start", on PORT and HOST.
# CI runs these same RUN and CMD lines in a clean folder without Docker: npm run check:container.
FROM node:22-bookworm-slim
WORKDIR /app
# npm's registry, when the build host reaches another one better (e.g. a mainland mirror):
# docker build --build-arg npm_config_registry=https://<mirror>/ .
ARG npm_config_registry
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The operators' console bundle under public/admin/, as Vercel builds it (vercel.json buildCommand).
RUN npm run build
ENV NODE_ENV=production PORT=80 HOST=0.0.0.0
# 微信云托管's default containerPort; container.config.json says the same.
EXPOSE 80
# package.json's "start" command, exec'd: the server gets SIGTERM itself (npm would not pass it on).
CMD ["./bootstrap"]
