FROM python:3.11-slim

# lxml, nh3 and the other compiled dependencies ship wheels; nothing to build here.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY syndication ./syndication
RUN pip install .

COPY feeds ./feeds
COPY wsgi.py ./

RUN useradd --system --uid 1000 syndication
USER syndication

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-", "wsgi:app"]
