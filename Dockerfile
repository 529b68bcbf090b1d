FROM python:3.11-slim

# gunicorn with sync workers: the fastest of the servers measured on the feed path
# (bench/wsgi_servers.py); WEB_CONCURRENCY sets their number (2 × cores + 1).
# lxml, nh3 and the other compiled dependencies ship wheels; nothing to build here.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WEB_CONCURRENCY=5
WORKDIR /app

COPY pyproject.toml README.md ./
COPY syndication ./syndication
RUN pip install .

COPY feeds ./feeds
COPY wsgi.py ./

RUN useradd --system --uid 1000 syndication
USER syndication

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "wsgi:app"]
