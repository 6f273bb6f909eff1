"""One iteration of a scenario as a k6 function: its requests, checks, groups and think times.

Requests go through `http.request` with the same method, URL, headers and body the built-in
engine sends (compile_request in load/requests.py), `${vu}`-style templates filled in by k6 at
run time; values used by every iteration (generated upload files, expected-status callbacks,
check helpers and regexes) are made once in the init context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from ccplate_tui.config.errors import KeyPath
from ccplate_tui.config.model import (
    Config,
    FormBody,
    GeneratedFile,
    JsonBody,
    MultipartBody,
    RawBody,
    RequestSpec,
    ScenarioSpec,
    StatusSet,
)
from ccplate_tui.k6.export_error import export_error, scenario_path
from ccplate_tui.k6.js import (
    TEMPLATE_JS,
    UnsafeValue,
    js_comment,
    js_string,
    js_template,
    js_value,
    k6_duration,
    template_names,
    uses_templates,
)
from ccplate_tui.k6.js_checks import CheckScope, UntranslatableCheck, check_expression
from ccplate_tui.k6.secrets import (
    FILL_TEMPLATES,
    SecretHeader,
    request_headers,
    secret_init_code,
)

__all__ = ["InitContext", "scenario_function"]

_DEFAULT_TIMEOUT = 60.0
"""k6's request timeout when params say nothing."""
_EMPTY_BODY = "null"
"""An empty body: k6 sends `""` chunked, but `null` with `Content-Length: 0` as the engine does."""
_BODY_WIDTH = 72
"""Characters a JSON body may take on one line before it is written one key a line."""

_GENERATED_FILE_HELPER = """\
// Generated upload content: pseudo-random bytes made once per VU, in the init context.
function generatedFile(size, seed) {
  const bytes = new Uint8Array(size);
  const block = Math.min(size, 65536);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < block; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  for (let i = block; i < size; i += block) {
    bytes.set(bytes.subarray(0, Math.min(block, size - i)), i);
  }
  return bytes.buffer;
}"""


@dataclass
class InitContext:
    """Init-context constants shared by the script's requests.

    `secrets` ((header, value) -> SecretHeader, see k6/secrets.py) are written as `__ENV`
    references; an empty mapping writes every header value literally (`--include-secrets`).
    """

    checks: CheckScope
    expected: dict[tuple[tuple[int, int], ...], str]
    files: dict[GeneratedFile, str]
    uses_exec: bool = False
    secrets: Mapping[tuple[str, str], SecretHeader] = field(default_factory=dict)
    used_secrets: dict[str, str] = field(default_factory=dict)
    """Variable -> header name, for each secret this script reads."""
    fills_templates: bool = False

    def header_value(self, name: str, value: str) -> str:
        """A header value as a JavaScript expression: `__ENV.<NAME>` when it is secret."""
        secret = self.secrets.get((name, value))
        if secret is None:
            return js_template(value)
        self.used_secrets.setdefault(secret.env, name)
        reference = f"__ENV.{secret.env}"
        if not uses_templates(value):
            return reference
        self.fills_templates = self.uses_exec = True
        return f"{FILL_TEMPLATES}({reference})"

    def expected_statuses(self, statuses: StatusSet) -> str | None:
        if statuses == StatusSet():
            return None  # k6's default response callback: 200-399
        if statuses.ranges not in self.expected:
            self.expected[statuses.ranges] = f"EXPECTED_STATUSES_{len(self.expected) + 1}"
        return self.expected[statuses.ranges]

    def file(self, spec: GeneratedFile) -> str:
        if spec not in self.files:
            self.files[spec] = f"GENERATED_FILE_{len(self.files) + 1}"
        return self.files[spec]

    def code(self) -> str:
        blocks = []
        secrets = secret_init_code(self.used_secrets, self.fills_templates)
        if secrets:
            blocks.append(secrets)
        if self.files:
            blocks.append(_GENERATED_FILE_HELPER)
            blocks.append(
                "\n".join(
                    f"const {const} = generatedFile({spec.size}, {number});"
                    for number, (spec, const) in enumerate(self.files.items(), start=1)
                )
            )
        if self.expected:
            lines = []
            for ranges, const in self.expected.items():
                args = ", ".join(
                    str(lo) if lo == hi else f"{{ min: {lo}, max: {hi} }}" for lo, hi in ranges
                )
                lines.append(f"const {const} = http.expectedStatuses({args});")
            blocks.append("\n".join(lines))
        checks = self.checks.init_code()
        if checks:
            blocks.append(checks)
        return "\n\n".join(blocks)


def _encode_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """`urlencode(pairs)` as the built-in engine sends it, keeping `${...}` templates intact
    so they are filled in at run time."""

    def encode(text: str) -> str:
        out, rest = [], text
        while rest:
            positions = [(rest.find("${" + n + "}"), n) for n in TEMPLATE_JS]
            found = [(at, n) for at, n in positions if at >= 0]
            if not found:
                out.append(quote_plus(rest))
                break
            at, n = min(found)
            out.append(quote_plus(rest[:at]) + "${" + n + "}")
            rest = rest[at + len(n) + 3 :]
        return "".join(out)

    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


def _set_default(headers: dict[str, str], name: str, value: str) -> None:
    if not any(k.lower() == name.lower() for k in headers):
        headers[name] = value


def _body(
    config: Config, spec: RequestSpec, path: KeyPath, headers: dict[str, str], init: InitContext
) -> str:
    body = spec.body
    if body is None:
        return "null"
    if isinstance(body, JsonBody):
        _set_default(headers, "Content-Type", "application/json")
        try:
            return f"JSON.stringify({js_value(body.value, width=_BODY_WIDTH)})"
        except UnsafeValue as exc:
            raise export_error(config, (*path, "json"), str(exc)) from None
    if isinstance(body, FormBody):
        _set_default(headers, "Content-Type", "application/x-www-form-urlencoded")
        return js_template(_encode_pairs(body.fields)) if body.fields else _EMPTY_BODY
    if isinstance(body, MultipartBody):
        # k6 writes the multipart Content-Type with its boundary; a configured one would be wrong.
        for key in [k for k in headers if k.lower() == "content-type"]:
            del headers[key]
        fields = []
        for name, value in body.parts:
            if isinstance(value, GeneratedFile):
                rendered = (
                    f"http.file({init.file(value)}, {js_template(value.filename)}, "
                    f"{js_string(value.content_type)})"
                )
            else:
                rendered = js_template(value)
            fields.append(f"  {js_string(name)}: {rendered},\n")
        return "{\n" + "".join(fields) + "}"
    assert isinstance(body, RawBody)
    _set_default(headers, "Content-Type", body.content_type)
    return js_template(body.text) if body.text else _EMPTY_BODY


def _uses_exec(*texts: str) -> bool:
    return any("scenario" in template_names(text) for text in texts)


def _request(
    config: Config,
    scenario: ScenarioSpec,
    index: int,
    spec: RequestSpec,
    init: InitContext,
    pad: str,
) -> list[str]:
    """The lines sending one request and checking its response, indented by `pad`."""
    path: KeyPath = (*scenario_path(scenario), "requests", index)
    headers = request_headers(config, spec)
    body = _body(config, spec, path, headers, init)
    target = spec.path
    if spec.query:
        target += ("&" if "?" in target else "?") + _encode_pairs(spec.query)
    url = js_template(target, prefix_expr="BASE_URL")
    texts = [target, *headers.values(), *_text_parts(spec)]
    init.uses_exec |= _uses_exec(*texts)
    params = []
    if headers:
        rendered = ", ".join(
            f"{js_string(k)}: {init.header_value(k, v)}" for k, v in headers.items()
        )
        params.append(f"headers: {{ {rendered} }}")
    tags = {"name": spec.name, **dict(spec.tags)}
    params.append(f"tags: {js_value(tags, templates=False)}")
    timeout = spec.timeout or scenario.timeout or config.target.timeout
    if timeout != _DEFAULT_TIMEOUT:
        params.append(f"timeout: {js_string(k6_duration(timeout))}")
    expected = init.expected_statuses(spec.expected_statuses or scenario.expected_statuses)
    if expected is not None:
        params.append(f"responseCallback: {expected}")
    if not any(getattr(c.predicate, "needs_body", True) for c in spec.checks):
        params.append('responseType: "none"')  # no check reads it: k6 need not keep it
    lines = [
        f"{pad}// {spec.method} {js_comment(spec.name)}".rstrip(),
        f"{pad}res = http.request(",
        f"{pad}  {js_string(spec.method)},",
        f"{pad}  {url},",
        f"{pad}  {_indent(body, pad + '  ')},",
        f"{pad}  {{",
        *(f"{pad}    {p}," for p in params),
        f"{pad}  }}",
        f"{pad});",
    ]
    if spec.checks:
        lines.extend(_checks(config, spec, path, init, pad))
    if spec.think_time:
        lines.append(f"{pad}sleep({_seconds(spec.think_time)});")
    return lines


def _text_parts(spec: RequestSpec) -> list[str]:
    """Every request string that may hold templates (for the `exec` import decision)."""
    texts = [v for pair in spec.query for v in pair]
    body = spec.body
    if isinstance(body, FormBody):
        texts += [v for pair in body.fields for v in pair]
    elif isinstance(body, MultipartBody):
        texts += [v.filename if isinstance(v, GeneratedFile) else v for _, v in body.parts]
    elif isinstance(body, RawBody):
        texts.append(body.text)
    elif isinstance(body, JsonBody):
        texts += _strings(body.value)
    return texts


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _indent(text: str, pad: str) -> str:
    """A multi-line JavaScript expression re-indented to sit at `pad` + 2 spaces."""
    return text.replace("\n", "\n" + pad)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _checks(
    config: Config, spec: RequestSpec, path: KeyPath, init: InitContext, pad: str
) -> list[str]:
    lines = [f"{pad}check(res, {{"]
    for check in spec.checks:
        check_path = (*path, "checks", check.name)
        if "::" in check.name:
            raise export_error(
                config, check_path, f"check {check.name!r}: k6 does not allow '::' in check names"
            )
        try:
            expression = check_expression(check.predicate, init.checks)
        except UntranslatableCheck as exc:
            raise export_error(
                config, check_path, f"check {check.name!r} ({check.source!r}): {exc}"
            ) from None
        lines.append(f"{pad}  {js_string(check.name)}: (r) => {expression},")
    # The built-in engine tags check samples with the request's own tags too (but for the
    # request's name and method, which only its HTTP samples carry).
    tags = {k: v for k, v in spec.tags if k not in ("name", "method")}
    if tags:
        lines.append(f"{pad}}}, {js_value(tags, templates=False)});")
    else:
        lines.append(f"{pad}}});")
    return lines


def scenario_function(
    config: Config, scenario: ScenarioSpec, function: str, init: InitContext
) -> str:
    """`export function <name>() {...}`: one iteration of the scenario."""
    lines = [f"// One iteration of scenario {scenario.name}.", f"export function {function}() {{"]
    lines.append("  let res;")
    current: str | None = None
    for index, spec in enumerate(scenario.requests):
        if spec.group != current:
            if current is not None:
                lines.append("  });")
            if spec.group is not None:
                path = (*scenario_path(scenario), "requests", index, "group")
                if "::" in spec.group:
                    raise export_error(
                        config, path, f"group {spec.group!r}: k6 does not allow '::' in group names"
                    )
                lines.append(f"  group({js_string(spec.group)}, function () {{")
            current = spec.group
        pad = "    " if current is not None else "  "
        lines.extend(_request(config, scenario, index, spec, init, pad))
    if current is not None:
        lines.append("  });")
    if scenario.think_time:
        lines.append(f"  sleep({_seconds(scenario.think_time)});")
    lines.append("}")
    return "\n".join(lines)
