"""The hello-world FastAPI app of ``compare.py``: the floor of FastAPI + uvicorn.

``GET /`` answers a small JSON document; ``POST /`` and ``PATCH /`` read and parse the JSON
body (as FastAPI does for a ``dict`` body parameter) and answer the same small document, so
the write paths of the comparison send their real bodies here too.

Run: ``python -m uvicorn hello:app --app-dir bench --port 8001 --log-level warning``
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/", status_code=201)
async def create(body: dict[str, Any]) -> dict[str, str]:
    return {"hello": "world"}


@app.patch("/")
async def patch(body: dict[str, Any]) -> dict[str, str]:
    return {"hello": "world"}
