# syntax=docker/dockerfile:1
#
# One image for every role of `site`: `docker build -t site:latest .`
# (needs BuildKit, the default builder of current Docker, for the cache mounts).
# The default command runs all five roles with /data as the data directory;
# compose.yaml runs the same image five times with one --roles each.

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
# Built on the build machine's own platform and cross-compiled for the target:
# the binary is pure Go (CGO_ENABLED=0), so no emulation is needed.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# Never download another toolchain inside the build: if the base image is older
# than go.mod asks for, fail instead.
ENV GOTOOLCHAIN=local

# Dependencies first, so the layer (and the module cache) survive source edits.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# templ output (*_templ.go) is committed, so no generate step here.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/site ./app

# The data directory, copied into the runtime image owned by the non-root user
# so that a fresh named volume mounted on /data inherits that ownership.
RUN mkdir -p /out/data

# ---- runtime ----------------------------------------------------------------
# Static binary, CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/site /site
COPY --from=build --chown=65532:65532 /out/data /data
# No config file: the built-in defaults (those of site.hcl) apply, and the
# secrets SITE_NATS_TOKEN, SITE_S3_ACCESS_KEY and SITE_S3_SECRET_KEY are read
# from the environment. Mount a site.hcl and pass --config to change settings.
USER 65532:65532
VOLUME ["/data"]
# 8080 web (site, /healthz, /readyz), 9000 objects (S3 API), 4222 NATS (token auth).
EXPOSE 8080 9000 4222
# Fits the default command (web role on :8080). compose.yaml replaces it per
# service: roles without web answer on --ops.listen (:9100) instead.
# Exec form: the image has no shell and no curl; `site health URL` exits 0 on 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/site", "health", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/site"]
CMD ["serve", "--data-dir=/data"]
