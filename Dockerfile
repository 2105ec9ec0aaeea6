# Two stages: the build stage installs the pinned dependencies (requirements.lock, scripts/
# lock.sh) and the project into a virtual environment; the runtime stage copies only that
# environment, so the image holds no pip cache, no sources and no build tools.
# scripts/image-steps.sh runs these same steps outside a container engine
# (tests/conformance/test_images.py).

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
RUN python -m venv /opt/concur-scim
COPY requirements.lock ./
RUN /opt/concur-scim/bin/pip install -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN /opt/concur-scim/bin/pip install --no-deps .


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/concur-scim/bin:$PATH

COPY --from=build /opt/concur-scim /opt/concur-scim
RUN useradd --system --create-home --uid 10001 concur \
    && mkdir /data && chown concur /data

# The embedded default keeps its SQLite file on a volume; compose points this at PostgreSQL.
ENV CONCUR_SCIM_DATABASE_URL=sqlite:////data/concur-scim.db
# Serving on every interface needs the public origin as the token issuer (docs/security.md
# "Tokens"): set it to the URL clients reach the container at.
ENV CONCUR_SCIM_ISSUER=http://localhost:8000
VOLUME ["/data"]

USER concur
WORKDIR /home/concur

EXPOSE 8000

# Ready when the database answers (GET /readyz: 200, else 503); no curl in the slim image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]

# `serve` applies pending migrations before it starts listening.
CMD ["concur-scim", "serve", "--host", "0.0.0.0", "--port", "8000"]
