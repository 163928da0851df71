# syntax=docker/dockerfile:1
#
# The engine image for users who have Docker. `make image` (gen/image) builds
# the same image without Docker or any base-image download; prefer it in CI.
#
#   BUNDLE=$(sed -n 's/^const BundleHash = "\(.*\)"$/\1/p' generated/registry.go)
#   VERSION=$(git describe --tags --always --dirty)
#   docker build --build-arg VERSION=$VERSION --build-arg BUNDLE_HASH=$BUNDLE \
#     --build-arg REVISION=$(git rev-parse HEAD) -t eventrunner:$VERSION-$BUNDLE .
#
# The build fails when BUNDLE_HASH is not the bundle compiled into the binary,
# so the label and the tag cannot lie about the schemas and rules inside.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG BUNDLE_HASH
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/eventrunner ./cmd/eventrunner
RUN got="$(/out/eventrunner version | sed -n 's/^bundle //p')" && \
    if [ "$got" != "${BUNDLE_HASH}" ]; then \
      echo "BUNDLE_HASH=${BUNDLE_HASH} but the binary was built with bundle $got" >&2; exit 1; \
    fi
# The root filesystem gen/image assembles: the non-root user 65532, /tmp,
# the data directory it owns, CA certificates.
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/root /rootfs/var/lib/eventrunner && \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\neventrunner:x:65532:65532:eventrunner:/var/lib/eventrunner:/sbin/nologin\n' > /rootfs/etc/passwd && \
    printf 'root:x:0:\nnobody:x:65534:\neventrunner:x:65532:\n' > /rootfs/etc/group && \
    printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf && \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ && \
    chmod 1777 /rootfs/tmp && chmod 700 /rootfs/root && \
    chown 65532:65532 /rootfs/var/lib/eventrunner

FROM scratch
ARG VERSION=dev
ARG BUNDLE_HASH
ARG REVISION=
COPY --from=build /rootfs/ /
COPY --from=build /out/eventrunner /eventrunner
ENV PATH=/ SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="eventrunner" \
      org.opencontainers.image.description="Multi-tenant event processing engine with compiled GRL rules; bundle ${BUNDLE_HASH}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.ref.name="${VERSION}-${BUNDLE_HASH}" \
      io.eventrunner.bundle-hash="${BUNDLE_HASH}"
USER 65532:65532
WORKDIR /var/lib/eventrunner
VOLUME /var/lib/eventrunner
EXPOSE 8080/tcp 9090/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/eventrunner"]
CMD ["serve", "--http-addr", "0.0.0.0:8080", "--grpc-addr", "0.0.0.0:9090", "--data-dir", "/var/lib/eventrunner", "--log-format", "json"]
