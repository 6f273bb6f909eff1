"""A k6-operator `TestRun` and the ConfigMap holding its script, as one Kubernetes YAML file.

`kubectl apply -f <name>.testrun.yaml` (with the k6-operator installed) runs the exported script
on `parallelism` pods, each taking its share of the VUs and iterations (k6 execution segments).
The YAML is written by a small emitter (no YAML library needed): block mappings and sequences,
double-quoted scalars (JSON string syntax, which YAML reads the same), and the script as a
literal block so it stays readable in the manifest.

Secret header values are not in the script (k6/secrets.py): the runner pods read each variable
from a Kubernetes Secret with `valueFrom.secretKeyRef`; the manifest never holds a value. (The
initializer needs none: `k6 archive` and `k6 inspect` run the init code as VU 0, which does not
check them.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ccplate_tui.k6.secrets import DEFAULT_SECRET_NAME, kubectl_create_secret, valid_secret_name

__all__ = ["DEFAULT_PARALLELISM", "kubernetes_name", "render_testrun", "to_yaml"]

DEFAULT_PARALLELISM = 4
_MAX_NAME = 50
"""Characters of a resource name: the operator appends suffixes (`-initializer`, `-1`...) to
make job names, which Kubernetes limits to 63."""
_PRINTABLE = re.compile(r"[\t\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
"""What a YAML literal block may hold; anything else is written as a quoted scalar."""
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*")
"""Strings written without quotes (`v1`, `k6.io/v1alpha1`, `auth-burst`); others are quoted."""
_PLAIN_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
"""Words YAML 1.1 readers would take for booleans or null."""


def kubernetes_name(name: str) -> str:
    """A DNS-1123 label for `name`: lowercase letters, digits and '-' (`auth_burst` -> `auth-burst`)."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:_MAX_NAME].rstrip("-")
    return label or "k6-test"


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _PLAIN_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _literal_block(text: str, indent: int) -> str | None:
    """`text` as a `|` block at `indent` spaces, or None when a block cannot hold it."""
    if "\n" not in text.rstrip("\n") or not _PRINTABLE.fullmatch(text) or "\r" in text:
        return None
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n")
    indicator = str(2) if lines[0].startswith(" ") else ""
    pad = " " * indent
    rendered = "\n".join(pad + line if line else "" for line in lines)
    if chomp == "+":
        rendered += "\n" * (trailing - 1)
    return f"|{indicator}{chomp}\n{rendered}"


def to_yaml(value: object, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (the subset these manifests use)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}"
        lines = []
        for key, item in value.items():
            head = f"{pad}{_key(str(key))}:"
            if isinstance(item, dict | list) and item:
                lines.append(head + "\n" + to_yaml(item, indent + 2))
            elif isinstance(item, str) and (block := _literal_block(item, indent + 2)):
                lines.append(f"{head} {block}")
            else:
                lines.append(f"{head} {_inline(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return pad + "[]"
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- " + nested[indent + 2 :])
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return "\n".join(lines)
    return pad + _inline(value)


def _inline(value: object) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return _scalar(value)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key) else json.dumps(key)


def render_testrun(
    name: str,
    script_name: str,
    script: str,
    *,
    base_url: str,
    parallelism: int = DEFAULT_PARALLELISM,
    k6_outputs: Sequence[str] = (),
    secret_env: Sequence[str] = (),
    secret_name: str = DEFAULT_SECRET_NAME,
) -> str:
    """The ConfigMap (holding `script` as `script_name`) and the TestRun running it.

    `k6_outputs` are k6 `--out` values such as `json=/tmp/run.ndjson`. `secret_env` are the
    variables the script reads from the Kubernetes Secret `secret_name` (a key per variable).
    """
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1:
        raise ValueError(f"parallelism must be a whole number of at least 1, got {parallelism!r}")
    resource = kubernetes_name(name)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": resource, "labels": {"app.kubernetes.io/managed-by": "ccplate-tui"}},
        "data": {script_name: script},
    }
    spec: dict[str, object] = {
        "parallelism": parallelism,
        "script": {"configMap": {"name": resource, "file": script_name}},
    }
    for out in k6_outputs:
        if not out or any(c.isspace() for c in out):
            # The operator builds the runner's command line from this text: no quoting survives.
            raise ValueError(f"a k6 output must be one word like json=/tmp/run.ndjson, got {out!r}")
    if k6_outputs:
        spec["arguments"] = " ".join(f"--out {out}" for out in k6_outputs)
    if secret_env and not valid_secret_name(secret_name):
        raise ValueError(
            f"the secret name must be a Kubernetes name (lowercase letters, digits, '-' and "
            f"'.'), got {secret_name!r}"
        )
    env: list[dict[str, object]] = [{"name": "BASE_URL", "value": base_url}]
    env += [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": var}}}
        for var in secret_env
    ]
    spec["runner"] = {"env": env}
    test_run = {
        "apiVersion": "k6.io/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": resource},
        "spec": spec,
    }
    lines = [
        f"# {name}: a k6-operator TestRun of {script_name} on {parallelism} pods, exported by",
        "# `ccplate-tui export k6`. Apply with `kubectl apply -f <this file>` where the",
        "# k6-operator is installed; set BASE_URL to an address the k6 pods can reach.",
    ]
    if secret_env:
        lines.append(f"# Create the Secret {secret_name} first, each value from your shell:")
        command = kubectl_create_secret(secret_name, secret_env)
        lines += [f"#   {line}" for line in command.split("\n")]
    header = "\n".join(lines)
    return f"{header}\n{to_yaml(config_map)}\n---\n{to_yaml(test_run)}\n"
