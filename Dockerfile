# syntax=docker/dockerfile:1
#
# callgate: a static, non-root, minimal image.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t callgate .
# The final stage is distroless "static" (CA certificates, tzdata, /etc/passwd
# with the nonroot user 65532, no shell, no package manager): callgate is built
# with CGO_ENABLED=0 and needs nothing else. The AWS SDK and the endpoint TLS
# checks use the image's CA bundle.

ARG GO_VERSION=1.26

# --- build -------------------------------------------------------------------
# Runs on the build machine's platform and cross-compiles for the target, so
# a multi-arch build (docker buildx --platform linux/amd64,linux/arm64) does
# not emulate the compiler.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src

# Modules first, in their own layer, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/callgate ./cmd/callgate

# --- run ---------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="callgate" \
      org.opencontainers.image.description="Egress callout gateway over AWS PrivateLink" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/callgate /callgate
# 65532 is distroless's "nonroot"; numeric so runAsNonRoot can verify it.
USER 65532:65532
# 3128: the proxy listener (CONNECT, absolute form, /callout/). 9090: admin (/metrics, /healthz, /readyz, /v1/...).
# The config must listen on 0.0.0.0 for these to be reachable from outside
# the container; the embedded default listens on 127.0.0.1 only.
EXPOSE 3128 9090
ENTRYPOINT ["/callgate"]
CMD ["serve", "--config", "/etc/callgate/callgate.yaml"]
