FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations

RUN pip install --no-cache-dir . \
    && useradd --system --create-home --uid 10001 concur \
    && mkdir /data && chown concur /data

# The embedded default keeps its SQLite file on a volume; compose points this at PostgreSQL.
ENV CONCUR_SCIM_DATABASE_URL=sqlite:////data/concur-scim.db
# Serving on every interface needs the public origin as the token issuer (docs/security.md
# "Tokens"): set it to the URL clients reach the container at.
ENV CONCUR_SCIM_ISSUER=http://localhost:8000
VOLUME ["/data"]

USER concur

EXPOSE 8000

# `serve` applies pending migrations before it starts listening.
CMD ["concur-scim", "serve", "--host", "0.0.0.0", "--port", "8000"]
