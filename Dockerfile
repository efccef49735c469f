# ferryd and the ferry CLI in one small image. `make image` builds it (the base is made
# from Debian's repositories first: scripts/base-image.sh); README.md, "Containers".
#
# Build stage: Debian 12 with the build dependencies from the one install script and a
# Release build of ferryd, the CLI and the example services (whose Dockerfiles start from
# this stage, tagged localhost/ferry-build, so the code is compiled once).
FROM localhost/debian:bookworm-minbase AS build
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
WORKDIR /src
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && cmake --build /build --target ferryd ferry ferry-login ferry-audit \
    && scripts/image-rootfs.sh /rootfs /build/broker/ferryd /build/client/ferry

# Runtime stage: the binaries and exactly the libraries ldd names
# (scripts/image-rootfs.sh); no shell, no package manager.
FROM scratch
COPY --from=build /rootfs /
# Listens on every interface of the container's network, data in the volume; FERRY_*
# variables override any key (FERRY_NET_LISTEN=...), as outside a container.
COPY deploy/kubernetes/base/ferryd.yaml /etc/ferry/ferryd.yaml
USER 10001:10001
VOLUME ["/var/lib/ferry"]
EXPOSE 7411 7412
# (No --start-period: dockerfilelint 1.8 misreads the option; 3 x 10 s covers a start.)
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["/usr/local/bin/ferry", "--timeout-ms", "2000", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ferryd", "--config", "/etc/ferry/ferryd.yaml"]
