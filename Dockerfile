# pgshard container image: build a release binary with the Swift toolchain, run it on a slim
# Debian with only the runtime libraries it links (libpq, OpenSSL, libpg_query).

FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq-dev libpg-query-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product pgshard --static-swift-stdlib \
 && install -D .build/release/pgshard /out/pgshard

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq5 libssl3 libpg-query1504.0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin pgshard
COPY --from=build /out/pgshard /usr/local/bin/pgshard
COPY config/pgshard.yaml /etc/pgshard/pgshard.yaml
USER pgshard
EXPOSE 6432
ENTRYPOINT ["/usr/local/bin/pgshard"]
CMD ["run", "--config", "/etc/pgshard/pgshard.yaml"]
