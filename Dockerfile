# statusedge for those with Docker: `docker build --build-arg VERSION=1.2.0 -t statusedge:1.2.0 .`
# `make image` builds the same image (one static binary, non-root, OCI labels)
# without a Docker engine or a base image; see internal/ociimage.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), with the time zone database embedded: the image has no
# /usr/share/zoneinfo and sites name their time zones.
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata -ldflags='-s -w' -o /out/statusedge ./cmd/statusedge
RUN mkdir -p /out/rootfs/etc /out/rootfs/data /out/rootfs/home/nonroot /out/rootfs/tmp \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/rootfs/etc/group \
 && chown 65532:65532 /out/rootfs/data /out/rootfs/home/nonroot && chmod 0700 /out/rootfs/data /out/rootfs/home/nonroot \
 && chmod 1777 /out/rootfs/tmp

FROM scratch
ARG VERSION=dev
ARG REVISION=
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="statusedge" \
      org.opencontainers.image.description="multi-tenant status pages: origin replicas (raft), regional edges, ctl" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /out/rootfs/ /
COPY --from=build /out/statusedge /usr/local/bin/statusedge
ENV PATH=/usr/local/bin HOME=/home/nonroot
WORKDIR /home/nonroot
USER 65532:65532
# edge visitors, origin API, raft, gossip
EXPOSE 8080 7070 7000 7946/tcp 7946/udp
VOLUME /data
ENTRYPOINT ["/usr/local/bin/statusedge"]
CMD ["--help"]
