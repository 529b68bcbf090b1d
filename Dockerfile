# The service's image: one image for every process (web, scheduler, worker), chosen by the command.
#
# Any Debian-based image with Python 3.11+ and its venv module will do as the base: the official
# python:3.11-slim by default, or a Debian base with Debian's python3 and python3-venv
# (deploy/local/build-images.sh makes one: `--build-arg BASE_IMAGE=localhost/syndication-base:bookworm`).
# Two stages: the first installs the service into a virtual environment, the second copies that
# environment alone, so nothing used to install (pip's caches, a compiler a base may carry) ships.
# lxml, nh3, granian and the other compiled dependencies come as wheels: nothing is compiled.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
# Where pip must go through an index or a proxy of the operator's (build arguments, not baked
# into the image): PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST, and PIP_CERT naming a
# CA bundle inside the base (the base then carries that CA).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/syndication
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syndication ./syndication
RUN /opt/syndication/bin/pip install --quiet '.[serve]'

FROM ${BASE_IMAGE}
# granian, 2 threads per worker: far ahead of gunicorn in the servers measured (bench/serve.py;
# the two granian settings are within noise of each other);
# WEB_CONCURRENCY sets the number of worker processes (one per core).
ENV PATH=/opt/syndication/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
COPY --from=build /opt/syndication /opt/syndication
WORKDIR /app
COPY feeds ./feeds
COPY wsgi.py ./

RUN useradd --system --uid 1000 --home-dir /app --shell /usr/sbin/nologin syndication
USER 1000

EXPOSE 8000
# The web tier's probe: ready when it can serve (Redis reachable). Compose overrides it for the
# scheduler and the workers, which serve no HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
# /metrics sums the workers' HTTP counters through prometheus-client's multiprocess mode, whose
# directory must start empty.
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec granian --interface wsgi --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --blocking-threads 2 wsgi:app"]
