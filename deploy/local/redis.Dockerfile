# Redis from Debian's package, in place of the official image (REDIS_IMAGE), for machines that
# reach Debian's mirror but no image registry. Behaves as the official image does for the compose
# file: `redis-server` on the PATH, data in /data, run as an unprivileged user.
ARG BASE_IMAGE=localhost/syndication-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
