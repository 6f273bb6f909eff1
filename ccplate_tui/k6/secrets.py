"""Secret header values in exported k6 scripts: which ones, under which names, how k6 gets them.

A header value is secret when its name says so (Authorization, Proxy-Authorization, Cookie,
Set-Cookie, or a name containing `token`, `key`, `secret`, `password` or `auth`, any case; the
Idempotency-Key headers excepted: a per-request id, not a credential), when it holds what
masking.py masks (a `Bearer …` token, a well-known token format, `token=…`), or when it holds
the value of a secret-named environment variable (TOKEN, KEY, SECRET… in its name, at least
8 characters): the config has no `${ENV}` syntax, so a value copied from the environment (a
config templated with envsubst, say) is recognised by that value.

The script reads each one as `__ENV.CCPLATE_SECRET_<HEADER>` (the header name upper-cased,
every run of other characters than A-Z and 0-9 made one `_`; `_2`, `_3`… for further values
of the same header, in config order: target headers, then each scenario's requests). The names
depend on the config alone, so every script exported from it agrees, and one Kubernetes Secret
holds them all.

The whole value goes in the variable (`Bearer abc`, not `"Bearer " + __ENV.X`): splitting a
value into a public scheme and a secret part needs a parser per header (Basic, Bearer, cookie
pairs, custom API-key schemes) and guesses wrong on the rest; the whole value is exact for any
header and the variable's name says which header it feeds. A value holding `${vu}`-style
templates keeps them in the variable; the script fills them in as k6 runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ccplate_tui.config.model import Config, RawBody, RequestSpec, ScenarioSpec
from ccplate_tui.k6.js import js_comment, js_string
from ccplate_tui.load.http1 import IDEMPOTENCY_HEADERS
from ccplate_tui.masking import mask_secrets, secret_env_values

__all__ = [
    "DEFAULT_SECRET_NAME",
    "FILL_TEMPLATES",
    "SECRET_ENV_PREFIX",
    "SecretHeader",
    "is_secret_header",
    "k6_env_flags",
    "kubectl_create_secret",
    "plan_secrets",
    "request_headers",
    "secret_env_names",
    "secret_init_code",
    "valid_secret_name",
]

SECRET_ENV_PREFIX = "CCPLATE_SECRET_"
DEFAULT_SECRET_NAME = "ccplate-tui-secrets"
"""The Kubernetes Secret the exported TestRuns read the variables from (`--secret-name`)."""
FILL_TEMPLATES = "fillTemplates"
"""The script's helper filling `${vu}`-style templates into a secret value at run time."""

_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_WORDS = ("token", "key", "secret", "password", "auth")
_MIN_ENV_VALUE = 8
"""Shorter environment values (`true`, `json`) would turn ordinary headers into secrets."""
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

_FILL_TEMPLATES_JS = f"""\
// A secret header value holding ${{vu}}, ${{iteration}} or ${{scenario}}, filled in as k6 runs.
function {FILL_TEMPLATES}(text) {{
  return text.replace(/\\$\\{{(vu|iteration|scenario)\\}}/g, (_, name) =>
    String(name === "vu" ? __VU : name === "iteration" ? __ITER : exec.scenario.name),
  );
}}"""


@dataclass(frozen=True)
class SecretHeader:
    """One secret header value and the environment variable the script reads it from."""

    env: str
    header: str
    value: str = field(repr=False)  # never in a repr, a log or a traceback
    where: str = ""
    """Where the config first sends it (`target.headers`, `scenarios.login.requests[0]`)."""


def is_secret_header(name: str, value: str, env_values: Iterable[str] = ()) -> bool:
    """Whether the header `name: value` must not be written literally (see the module doc)."""
    lowered = name.lower()
    if lowered in IDEMPOTENCY_HEADERS:
        return False
    if lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS):
        return True
    if mask_secrets(value) != value:
        return True
    return any(len(v) >= _MIN_ENV_VALUE and v in value for v in env_values)


def request_headers(config: Config, spec: RequestSpec) -> dict[str, str]:
    """The headers a request sends: the target's, then its own (the same merge as the engine)."""
    headers = dict(config.target.headers)
    headers.update(dict(spec.headers))
    return headers


def _sent_headers(config: Config, spec: RequestSpec) -> list[tuple[str, str]]:
    headers = request_headers(config, spec)
    if isinstance(spec.body, RawBody) and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = spec.body.content_type  # added by the export as well
    return list(headers.items())


def _env_base(header: str) -> str:
    return SECRET_ENV_PREFIX + (re.sub(r"[^A-Z0-9]+", "_", header.upper()).strip("_") or "HEADER")


def secret_env_names(
    config: Config, environ: Mapping[str, str] | None = None
) -> dict[tuple[str, str], SecretHeader]:
    """(header name, value) -> SecretHeader for every secret header value the config sends.

    `environ` (default: os.environ) gives the environment values that make a header secret.
    """
    env_values = secret_env_values((os.environ if environ is None else environ).items())
    found: dict[tuple[str, str], SecretHeader] = {}
    taken: set[str] = set()
    pairs = [(pair, "target.headers") for pair in config.target.headers]
    for scenario in config.scenarios.values():
        for index, spec in enumerate(scenario.requests):
            where = f"scenarios.{scenario.name}.requests[{index}]"
            pairs += [(pair, where) for pair in _sent_headers(config, spec)]
    for (header, value), where in pairs:
        if (header, value) in found or not is_secret_header(header, value, env_values):
            continue
        base = candidate = _env_base(header)
        number = 2
        while candidate in taken:
            candidate, number = f"{base}_{number}", number + 1
        taken.add(candidate)
        found[(header, value)] = SecretHeader(candidate, header, value, where)
    return found


def plan_secrets(
    config: Config, scenarios: Sequence[ScenarioSpec], environ: Mapping[str, str] | None = None
) -> list[SecretHeader]:
    """The secret header values the scenarios send, in order of first use."""
    names = secret_env_names(config, environ)
    used: dict[str, SecretHeader] = {}
    for scenario in scenarios:
        for spec in scenario.requests:
            for pair in _sent_headers(config, spec):
                if pair in names:
                    used.setdefault(names[pair].env, names[pair])
    return list(used.values())


def secret_init_code(used: Mapping[str, str], templates: bool) -> str:
    """Init-context code: stop before any VU runs when a secret variable is not set.

    `used` maps each variable to its header; `templates` adds the FILL_TEMPLATES helper.
    """
    if not used:
        return ""
    flags = k6_env_flags(used).strip()
    pairs = "".join(f"    [{js_string(env)}, {js_string(h)}],\n" for env, h in used.items())
    lines = [
        "// Secret header values are read from the environment, never written in this file:",
        js_comment(f"// k6 run {flags} ...  (a TestRun reads them from a Kubernetes Secret)."),
        "// Checked as each VU starts (__VU > 0): `k6 inspect` and `k6 archive` (the k6-operator's",
        "// initializer) evaluate this code as VU 0 and without the environment.",
        "if (__VU > 0) {",
        f"  for (const [name, header] of [\n{pairs}  ]) {{",
        "    if (__ENV[name] === undefined) {",
        '      throw new Error("set " + name + " (the value of the " + header + " header): "',
        '        + "k6 run -e " + name + "=..., or see `ccplate-tui export k6`");',
        "    }",
        "  }",
        "}",
    ]
    block = "\n".join(lines)
    return f"{block}\n\n{_FILL_TEMPLATES_JS}" if templates else block


def k6_env_flags(variables: Iterable[str]) -> str:
    """` -e X="$X"` for each variable: the shell supplies the value, nothing prints it."""
    return "".join(f' -e {var}="${var}"' for var in variables)


def kubectl_create_secret(secret_name: str, variables: Iterable[str]) -> str:
    """The `kubectl create secret generic` command, each value read from the user's shell."""
    literals = [f'--from-literal={var}="${var}"' for var in variables]
    return " \\\n    ".join([f"kubectl create secret generic {secret_name}", *literals])


def valid_secret_name(name: str) -> bool:
    """Whether `name` is a valid Kubernetes Secret name (a DNS-1123 subdomain)."""
    return len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name) is not None
