# pgshard container image: a release build with the Swift runtime linked in statically, on a
# slim Debian with only the C libraries the binary needs (checked by ContainerTests against
# what the binary links). See docs/deployment.md.

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libssl-dev libpg-query-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib --product pgshard \
 && install -D .build/release/pgshard /out/pgshard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libssl3 libpg-query1504.0 libstdc++6 libgcc-s1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin pgshard \
 && mkdir -p /etc/pgshard
COPY --from=build /out/pgshard /usr/local/bin/pgshard
USER 10001
# The proxy (listen.port) and the health endpoint (http.port); the config must set
# listen.host: 0.0.0.0 and http: { host: 0.0.0.0, port: 9930 } to be reachable.
EXPOSE 6432 9930
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/usr/local/bin/pgshard", "health", "--port", "9930"]
ENTRYPOINT ["/usr/local/bin/pgshard"]
CMD ["run", "--config", "/etc/pgshard/pgshard.yaml"]
