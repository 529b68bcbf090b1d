FROM python:3.11-slim

# granian, 2 threads per worker: with granian's default threads, far ahead of gunicorn in the servers
# measured (bench/serve.py; the two granian settings are within noise of each other);
# WEB_CONCURRENCY sets the number of worker processes (one per core).
# lxml, nh3 and the other compiled dependencies ship wheels; nothing to build here.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
WORKDIR /app

COPY pyproject.toml README.md ./
COPY syndication ./syndication
RUN pip install '.[serve]'

COPY feeds ./feeds
COPY wsgi.py ./

RUN useradd --system --uid 1000 syndication
USER syndication

EXPOSE 8000
# /metrics sums the workers' HTTP counters through prometheus-client's multiprocess mode, whose
# directory must start empty.
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec granian --interface wsgi --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --blocking-threads 2 wsgi:app"]
