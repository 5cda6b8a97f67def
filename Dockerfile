# acteon-worker image: built on Debian's own libraries (the same packages
# scripts/install-deps.sh installs), run as an unprivileged user.
#   docker build -t acteon-worker .
#   docker run --rm -v $PWD/config/examples:/etc/acteon acteon-worker run -c /etc/acteon/production-general.conf
FROM debian:bookworm-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config ca-certificates \
        librdkafka-dev libjansson-dev libconfig-dev libcurl4-openssl-dev \
        libhiredis-dev libpq-dev libmicrohttpd-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAW_BUILD_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" --target acteon-worker

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates librdkafka1 libjansson4 libconfig9 libcurl4 libhiredis0.14 libpq5 \
        libmicrohttpd12 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home acteon
COPY --from=build /build/acteon-worker /usr/local/bin/acteon-worker
COPY config/examples /etc/acteon
USER acteon
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/acteon-worker"]
CMD ["run", "-c", "/etc/acteon/production-general.conf"]
