"""Requests compiled once per worker: URL, headers and body bytes ready, templates marked.

Doing the work up front keeps the per-request hot path to a lookup and a send.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp

from ccplate_tui.config.model import (
    CheckSpec,
    FormBody,
    GeneratedFile,
    JsonBody,
    MultipartBody,
    RawBody,
    RequestSpec,
    ScenarioSpec,
    StatusSet,
    Tags,
    TargetSpec,
)
from ccplate_tui.load.http1 import (
    canonical_headers,
    is_replayable,
    merge_headers,
    serialize_request,
)

_TEMPLATE_MARK = "${"
_REQUEST_OVERHEAD_BYTES = 120
"""Bytes aiohttp adds to every request (request line, Host, User-Agent, Accept...)."""


_ENCODED_TEMPLATES = {
    urlencode({"": "${" + name + "}"})[1:]: "${" + name + "}"
    for name in ("vu", "iteration", "scenario")
}


def _urlencode_templated(pairs: object) -> str:
    """`urlencode`, keeping `${vu}`-style templates intact so they are filled in per request
    (their values, numbers and scenario names, need no escaping)."""
    text = urlencode(pairs)  # type: ignore[arg-type]
    for encoded, template in _ENCODED_TEMPLATES.items():
        text = text.replace(encoded, template)
    return text


def render(text: str, vu: int, iteration: int, scenario: str) -> str:
    """Substitute `${vu}`, `${iteration}` and `${scenario}`."""
    return (
        text.replace("${vu}", str(vu))
        .replace("${iteration}", str(iteration))
        .replace("${scenario}", scenario)
    )


class _ByteCollector:
    """Collects what an aiohttp payload writes, so a multipart body is encoded once."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(bytes(data))


async def _encode_multipart(body: MultipartBody, seed: int) -> tuple[bytes, str]:
    form = aiohttp.FormData(quote_fields=False)
    rng = random.Random(seed)
    for name, value in body.parts:
        if isinstance(value, GeneratedFile):
            form.add_field(
                name,
                rng.randbytes(value.size),
                filename=value.filename,
                content_type=value.content_type,
            )
        else:
            form.add_field(name, value)
    payload = form()
    collector = _ByteCollector()
    await payload.write(collector)
    return b"".join(collector.chunks), payload.content_type


@dataclass
class CompiledRequest:
    """One request of a scenario, ready to send; `templated` strings are rendered per call."""

    index: int
    scenario: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    templated: bool
    checks: tuple[CheckSpec, ...]
    needs_body: bool
    timeout: aiohttp.ClientTimeout
    expected: StatusSet
    tags: Tags
    """Tags every sample of this request carries (status and error are added per response)."""
    group: str | None
    think_time: float
    sent_bytes: int
    http1: bool
    """Sent through the lean HTTP/1.1 path (plain or TLS); else through httpx (HTTP/2)."""
    tls: bool
    """An https URL."""
    origin: tuple[str, int, bool]
    """(host, port, tls): requests with the same origin share a VU's connections."""
    replayable: bool
    """Sent again after a keep-alive race, as Go's Transport would (see http1.is_replayable)."""
    host: str
    port: int
    host_header: str
    target: str
    """Path and query, as on the request line."""
    wire: bytes | None
    """The whole request, serialised once when nothing in it is templated."""

    def wire_bytes(self, vu: int, iteration: int) -> bytes:
        """The serialised request for the lean path, rendering templates when there are any."""
        if self.wire is not None:
            return self.wire
        _, headers, body = self.build(vu, iteration)
        target = render(self.target, vu, iteration, self.scenario)
        return serialize_request(self.method, self.host_header, target, headers, body)

    def build(self, vu: int, iteration: int) -> tuple[str, dict[str, str], bytes | None]:
        if not self.templated:
            return self.url, self.headers, self.body
        url = render(self.url, vu, iteration, self.scenario)
        headers = {k: render(v, vu, iteration, self.scenario) for k, v in self.headers.items()}
        body = self.body
        if body is not None:
            # Bytes, not text: a multipart body holds binary file parts.
            body = (
                body.replace(b"${vu}", str(vu).encode())
                .replace(b"${iteration}", str(iteration).encode())
                .replace(b"${scenario}", self.scenario.encode())
            )
        return url, headers, body


def _sorted_tags(*parts: Tags | dict[str, str]) -> Tags:
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(dict(part))
    return tuple(sorted(merged.items()))


async def compile_request(
    index: int,
    spec: RequestSpec,
    scenario: ScenarioSpec,
    target: TargetSpec,
    run_tags: Tags,
    seed: int,
) -> CompiledRequest:
    """Resolve URL, headers and body bytes of one request of a scenario."""
    body: bytes | None = None
    content_type: str | None = None
    if isinstance(spec.body, JsonBody):
        body = json.dumps(spec.body.value, separators=(",", ":")).encode()
        content_type = "application/json"
    elif isinstance(spec.body, FormBody):
        body = _urlencode_templated(spec.body.fields).encode()
        content_type = "application/x-www-form-urlencoded"
    elif isinstance(spec.body, MultipartBody):
        body, content_type = await _encode_multipart(spec.body, seed)
    elif isinstance(spec.body, RawBody):
        body = spec.body.text.encode()
        content_type = spec.body.content_type
    # Header names are case-insensitive: the body's Content-Type yields to the user's (in any
    # case), except for multipart, whose boundary must match the body.
    defaults = {"Content-Type": content_type} if content_type else {}
    if isinstance(spec.body, MultipartBody):
        headers = canonical_headers(merge_headers(target.headers, spec.headers, defaults))
    else:
        headers = canonical_headers(merge_headers(defaults, target.headers, spec.headers))
    url = target.base_url.rstrip("/") + spec.path
    if spec.query:
        url += ("&" if "?" in url else "?") + _urlencode_templated(spec.query)
    if isinstance(spec.body, MultipartBody):
        # Generated file bytes are random; only the text fields can hold templates.
        body_templated = any(isinstance(v, str) and _TEMPLATE_MARK in v for _, v in spec.body.parts)
    else:
        body_templated = body is not None and _TEMPLATE_MARK.encode() in body
    templated = (
        _TEMPLATE_MARK in url
        or any(_TEMPLATE_MARK in v for v in headers.values())
        or body_templated
    )
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    host = parts.hostname or "127.0.0.1"
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    http1 = not scenario.http2
    wire = None
    if http1 and not templated:
        wire = serialize_request(spec.method, host_header, target, headers, body)
    group = f"::{spec.group}" if spec.group else None
    base = {"scenario": scenario.name, "name": spec.name, "method": spec.method}
    if group:
        base["group"] = group
    tags = _sorted_tags(run_tags, scenario.tags, base, spec.tags)
    timeout = spec.timeout or scenario.timeout or target.timeout
    header_bytes = sum(len(k) + len(v) + 4 for k, v in headers.items())
    return CompiledRequest(
        index=index,
        scenario=scenario.name,
        method=spec.method,
        url=url,
        headers=headers,
        body=body,
        templated=templated,
        checks=spec.checks,
        needs_body=any(getattr(c.predicate, "needs_body", True) for c in spec.checks),
        timeout=aiohttp.ClientTimeout(total=timeout),
        expected=spec.expected_statuses or scenario.expected_statuses,
        tags=tags,
        group=group,
        think_time=spec.think_time,
        sent_bytes=len(wire)
        if wire is not None
        else _REQUEST_OVERHEAD_BYTES + len(url) + header_bytes + len(body or b""),
        http1=http1,
        tls=parts.scheme == "https",
        origin=(host, port, parts.scheme == "https"),
        replayable=is_replayable(spec.method, headers),
        host=host,
        port=port,
        host_header=host_header,
        target=target,
        wire=wire,
    )
