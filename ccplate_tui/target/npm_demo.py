"""A local npm registry route for the demo target, serving the demo registry's packuments.

A project's `.npmrc` can point at it (`registry=http://127.0.0.1:8787/__npm/`) so the Sentry
compatibility check, and the `npm install --dry-run` proving its proposal, run end to end without
any public registry: @sentry/nextjs, its dependencies, Next.js and React (demo_registry.py).
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from aiohttp import web

from ccplate_tui.sentry.demo_registry import document_json, version_manifest

ABBREVIATED = "application/vnd.npm.install-v1+json"
_NOT_FOUND = b"{}"


def _wants_abbreviated(accept: str) -> bool:
    """Whether the most preferred media type of `accept` is npm's abbreviated metadata.

    Highest `q` wins; among equal `q` the first listed does (pacote lists install-v1 first).
    """
    best: tuple[float, int, str] | None = None
    for index, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        candidate = (-q, index, media.lower())
        if best is None or candidate < best:
            best = candidate
    return best is not None and best[2] == ABBREVIATED


def _package_and_rest(raw_path: str, prefix: str) -> tuple[str, str]:
    """`@sentry%2fnextjs/10.20.0` -> (`@sentry/nextjs`, `10.20.0`); every spelling npm accepts."""
    tail = unquote(raw_path.split("?", 1)[0][len(prefix) :])
    if tail.startswith("@"):
        scope, _, rest = tail.partition("/")
        name, _, rest = rest.partition("/")
        return f"{scope}/{name}", rest
    name, _, rest = tail.partition("/")
    return name, rest


def add_npm_routes(app: web.Application, prefix: str = "/__npm/") -> None:
    """Serve `GET {prefix}<package>[/<version-or-tag>]` for the demo packages; 404 `{}` else."""
    prefix = prefix if prefix.endswith("/") else prefix + "/"

    async def packument(request: web.Request) -> web.StreamResponse:
        package, rest = _package_and_rest(request.raw_path, prefix)
        abbreviated = _wants_abbreviated(request.headers.get("Accept", ""))
        body = document_json(package, abbreviated=abbreviated)
        if body is None:
            return web.Response(body=_NOT_FOUND, status=404, content_type="application/json")
        if rest:
            return _one_version(package, rest)
        response = web.Response(
            body=body,
            content_type=ABBREVIATED if abbreviated else "application/json",
        )
        response.headers["Vary"] = "Accept, Accept-Encoding"
        if "gzip" in request.headers.get("Accept-Encoding", "").lower():
            response.enable_compression(web.ContentCoding.gzip)  # what registries send
        return response

    app.router.add_get(prefix + "{package:.+}", packument)


def _one_version(package: str, spec: str) -> web.Response:
    """One version's manifest, by exact version or dist-tag (`/latest`), as registries answer."""
    manifest = version_manifest(package, spec)
    if manifest is None:
        return web.Response(body=_NOT_FOUND, status=404, content_type="application/json")
    return web.Response(body=json.dumps(manifest).encode(), content_type="application/json")
