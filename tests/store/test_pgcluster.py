from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from support.pgcluster import running_cluster


@pytest.mark.postgres
def test_running_cluster_serves_queries_then_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A throwaway cluster answers queries while the context is open and is gone after it."""
    monkeypatch.delenv("CONCUR_SCIM_TEST_PG_URL", raising=False)

    with running_cluster() as url:
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert parsed.database == "concur_scim_test"
        conninfo = make_conninfo(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        )
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            row = conn.execute("SELECT version()").fetchone()
        assert row is not None
        assert str(row[0]).startswith("PostgreSQL")

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo, connect_timeout=5).close()
