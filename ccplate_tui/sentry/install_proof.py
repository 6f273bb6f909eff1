"""Prove a proposed `npm install` works before showing it.

A version that declares support for the app's Next.js is no use when npm cannot install it from
the registry the project uses: @sentry/nextjs 11.8.0 depends on @sentry/cloudflare 11.8.0, which
a lagging mirror may not have (ETARGET). With npm on the PATH the proof is
`npm install --dry-run --ignore-scripts --no-audit --no-fund <pkg>@<version>` in a temporary copy
of the project's package files (package.json, lockfile, .npmrc: npm resolves against the same
registry the project is configured for, reading packuments only). Without npm, the version's
direct dependency ranges are resolved against their packuments. Proofs are cached beside the
packuments; dry-runs are bounded in number and time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ccplate_tui.atomic_file import write_atomic
from ccplate_tui.sentry.dsn import mask_dsns
from ccplate_tui.sentry.npm_pick import npm_pick
from ccplate_tui.sentry.npm_semver import lowest_in_range
from ccplate_tui.sentry.packument import Packument, PackumentError, VersionInfo, load_packument

PACKAGE_FILES = ("package.json", "npm-shrinkwrap.json", "package-lock.json", ".npmrc")
MAX_DRY_RUNS = 4
"""Each dry-run takes seconds: a check runs at most this many."""
DRY_RUN_TIMEOUT = 90.0
MAX_CANDIDATES = 25
"""How many versions, newest first, are tried before giving up."""
PROOF_FRESH_SECONDS = 15 * 60
"""Online, a cached proof this young is reused; offline, any cached proof for the same files."""
PROOF_FORMAT = 1
DRY_RUN_FLAGS = ("--dry-run", "--ignore-scripts", "--no-audit", "--no-fund")

ProofMethod = Literal["npm", "packuments", "none"]
_NOT_FOUND = re.compile(r"No matching version found for ((?:@[^@\s/]+/)?[^@\s]+)@")
_NOT_IN_REGISTRY = re.compile(r"'((?:@[^@\s/']+/)?[^@\s']+)@[^']*' is not in this registry")
_NAMED = re.compile(r"(?<![\w@/.-])((?:@[\w.-]+/)?[a-z0-9][\w.-]*)@[\"'\d^~<>=*v]")


@dataclass(frozen=True)
class InstallProof:
    """Whether one `npm install` command works against the project's registry, and how we know."""

    command: str
    version: str | None
    """The version proven (for `npm install` as declared: the version npm would install)."""
    ok: bool | None
    """True installs, False does not, None not proven (offline, npm timed out, budget spent)."""
    method: ProofMethod
    reason: str
    """npm's error (`ETARGET No matching version found for …`), or why nothing was proven."""
    code: str | None = None
    about_candidate: bool = True
    """A failure names the package or one of its dependencies (else the project itself fails)."""
    missing: tuple[str, ...] = ()
    """Packages the failure says lack the wanted version (ETARGET / E404)."""
    seconds: float = 0.0
    checked_at: str = ""
    cached: bool = False

    def describe(self) -> str:
        how = {
            "npm": "`npm install --dry-run`",
            "packuments": "its dependency ranges resolved against the registry",
            "none": "not proven",
        }[self.method]
        when = f"cached proof of {self.checked_at}" if self.cached else f"{self.seconds:.1f} s"
        if self.ok:
            return f"installs ({how}, {when})"
        if self.ok is False:
            return f"does not install: {self.reason} ({how}, {when})"
        return f"not proven: {self.reason}"


@dataclass(frozen=True)
class Skipped:
    """A newer supporting version passed over because it does not install."""

    version: str
    proof: InstallProof


@dataclass(frozen=True)
class Choice:
    """The newest candidate that installs (or cannot be proven either way), and those skipped."""

    info: VersionInfo | None
    proof: InstallProof | None
    skipped: tuple[Skipped, ...] = ()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age_seconds(stamp: str) -> float:
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - then).total_seconds()


def package_files_digest(project: Path) -> str:
    """A digest of the files npm resolves from (a proof holds while they are unchanged)."""
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        try:
            data = (project / name).read_bytes()
        except OSError:
            continue
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


@dataclass(frozen=True)
class NpmFailure:
    code: str | None
    reason: str
    names: frozenset[str]
    missing: tuple[str, ...]


def parse_npm_failure(stdout: str, stderr: str) -> NpmFailure:
    """npm's error from `--json` output (`{"error": {code, summary, detail}}`), else stderr."""
    code: str | None = None
    summary = detail = ""
    try:
        data = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, Mapping):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        summary = str(error.get("summary") or "")
        detail = str(error.get("detail") or "")
    else:
        lines = [ln.removeprefix("npm error").strip() for ln in stderr.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("A complete log")]
        for line in lines:
            if line.startswith("code ") and code is None:
                code = line.split(None, 1)[1]
        summary = next((ln for ln in lines if not ln.startswith("code ")), "npm failed")
        detail = "\n".join(lines)
    text = f"{summary}\n{detail}"
    missing = tuple(dict.fromkeys(_NOT_FOUND.findall(text) + _NOT_IN_REGISTRY.findall(text)))
    summary = summary.splitlines()[0].strip().rstrip(".") if summary else "npm failed"
    reason = f"{code} {summary}" if code else summary
    if code == "ERESOLVE":
        conflict = re.search(r"Could not resolve dependency:\n(.+)", detail)
        if conflict:
            reason += f" ({conflict.group(1).strip()})"
    return NpmFailure(
        code, mask_dsns(reason), frozenset(_NAMED.findall(text)) | set(missing), missing
    )


class InstallProver:
    """Proves `npm install` commands for one package of one project, within a budget.

    Failures teach it: a dependency npm could not find (ETARGET/E404) is checked for every later
    candidate against that dependency's packument first, so versions that would fail the same way
    are skipped without a dry-run.
    """

    def __init__(
        self,
        project: Path,
        packument: Packument,
        cache_dir: Path,
        *,
        offline: bool = False,
        timeout: float = 20.0,
        npm: str | None = "npm",
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        dry_run_timeout: float = DRY_RUN_TIMEOUT,
        max_dry_runs: int = MAX_DRY_RUNS,
    ) -> None:
        self.project = Path(project)
        self.package = packument.name
        self.registry_url = packument.registry_url
        # A registry that did not answer the packument will not answer npm either.
        self.offline = offline or packument.origin != "registry"
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self.env = dict(os.environ if env is None else env)
        self.home = home
        self.npm_name = npm
        self.npm = shutil.which(npm, path=self.env.get("PATH")) if npm else None
        self.dry_run_timeout = dry_run_timeout
        self.max_dry_runs = max_dry_runs
        self.dry_runs: list[InstallProof] = []
        """Every dry-run this prover ran, in order (with its timing)."""
        self._suspects: set[str] = set()
        self._packuments: dict[str, Packument | str] = {}
        self._digest = package_files_digest(self.project)

    # --- the proof of one command ---------------------------------------------------------

    def prove(self, info: VersionInfo, *, as_declared: bool = False) -> InstallProof:
        """Whether `npm install <package>@<info.version>` works (or plain `npm install`, which
        would install `info`, with `as_declared`)."""
        command = "npm install" if as_declared else f"npm install {self.package}@{info.version}"
        cached = self._cached(command)
        if cached is not None:
            self._learn(cached)
            return cached
        if self.offline:
            reason = "the registry was not reached and no proof of it is cached"
            return InstallProof(command, info.version, None, "none", reason)
        precheck = self._resolve(info, command, only=self._suspects)
        if precheck is not None and precheck.ok is False:
            return self._store(precheck)
        if self.npm is None:
            proof = self._resolve(info, command, only=None)
            assert proof is not None
            return self._store(proof)
        if len(self.dry_runs) >= self.max_dry_runs:
            reason = f"not tried: this check already ran {self.max_dry_runs} npm dry-runs"
            return InstallProof(command, info.version, None, "none", reason)
        proof = self._dry_run(info, command, as_declared=as_declared)
        self.dry_runs.append(proof)
        self._learn(proof)
        return self._store(proof) if proof.ok is not None else proof

    def _learn(self, proof: InstallProof) -> None:
        if proof.ok is False:
            self._suspects.update(m for m in proof.missing if m != self.package)

    def _dry_run(self, info: VersionInfo, command: str, *, as_declared: bool) -> InstallProof:
        assert self.npm is not None
        argv = [self.npm, "install", *DRY_RUN_FLAGS, "--json"]
        if not as_declared:
            argv.append(f"{self.package}@{info.version}")
        env = {**self.env, "npm_config_update_notifier": "false", "npm_config_progress": "false"}
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ccplate-npm-proof-") as folder:
            for name in PACKAGE_FILES:
                if (self.project / name).is_file():
                    shutil.copyfile(self.project / name, Path(folder) / name)
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=folder,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # so a timeout can end npm and all it started
                )
            except OSError as error:
                return InstallProof(
                    command, info.version, None, "none", f"npm did not start ({error})"
                )
            try:
                stdout, stderr = process.communicate(timeout=self.dry_run_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                reason = f"npm did not finish within {self.dry_run_timeout:g} s"
                elapsed = time.monotonic() - started
                return InstallProof(
                    command, info.version, None, "npm", reason, code="timeout", seconds=elapsed
                )
        seconds = time.monotonic() - started
        if process.returncode == 0:
            return InstallProof(
                command, info.version, True, "npm", "", seconds=seconds, checked_at=_now()
            )
        failure = parse_npm_failure(stdout, stderr)
        related = {self.package, *(name for name, _ in info.dependencies)}
        return InstallProof(
            command,
            info.version,
            False,
            "npm",
            failure.reason,
            code=failure.code,
            about_candidate=bool(failure.names & related),
            missing=failure.missing,
            seconds=seconds,
            checked_at=_now(),
        )

    def _resolve(
        self, info: VersionInfo, command: str, *, only: set[str] | None
    ) -> InstallProof | None:
        """Resolve `info`'s dependency ranges against their packuments (`only` those named).

        A failure is ETARGET (no version satisfies) or E404 (no such package); a packument that
        cannot be had leaves the proof open. None when `only` names none of its dependencies.
        """
        deps = [(n, s) for n, s in info.dependencies if only is None or n in only]
        if only is not None and not deps:
            return None
        started = time.monotonic()

        def failed(code: str, reason: str, name: str) -> InstallProof:
            return InstallProof(
                command,
                info.version,
                False,
                "packuments",
                reason,
                code=code,
                missing=(name,),
                seconds=time.monotonic() - started,
                checked_at=_now(),
            )

        unknown: list[str] = []
        for name, spec in deps:
            packument = self._packument(name)
            if packument == "404":
                return failed("E404", f"E404 '{name}@{spec}' is not in this registry", name)
            if isinstance(packument, str):
                unknown.append(f"{name} ({packument})")
            elif _checkable(spec) and npm_pick(spec, packument) is None:
                return failed(
                    "ETARGET", f"ETARGET No matching version found for {name}@{spec}", name
                )
        if unknown:
            reason = "could not read the packuments of " + ", ".join(unknown)
            return InstallProof(command, info.version, None, "none", reason)
        return InstallProof(
            command,
            info.version,
            True,
            "packuments",
            "direct dependencies only: npm is not on the PATH",
            seconds=time.monotonic() - started,
            checked_at=_now(),
        )

    def _packument(self, name: str) -> Packument | str:
        """`name`'s packument (registry, else its cache), "404" when the registry has no such
        package, or why it could not be read."""
        if name not in self._packuments:
            try:
                self._packuments[name] = load_packument(
                    name,
                    self.project,
                    self.cache_dir,
                    offline=self.offline,
                    timeout=self.timeout,
                    env=self.env,
                    home=self.home,
                    npm=self.npm_name,
                )
            except PackumentError as error:
                # fetch_packument words a missing package "HTTP 404, the registry has no …".
                text = str(error)
                self._packuments[name] = "404" if "HTTP 404" in text else text
        return self._packuments[name]

    # --- the cache ------------------------------------------------------------------------

    def _cache_path(self, command: str) -> Path:
        key = json.dumps([self.registry_url, command, self._digest]).encode()
        registry = hashlib.sha256((self.registry_url or "").encode()).hexdigest()[:12]
        return (
            self.cache_dir
            / "npm"
            / registry
            / "proofs"
            / f"{hashlib.sha256(key).hexdigest()[:32]}.json"
        )

    def _cached(self, command: str) -> InstallProof | None:
        try:
            record = json.loads(self._cache_path(command).read_bytes())
            if record.get("format") != PROOF_FORMAT:
                return None
            data = dict(record["proof"])
            data["missing"] = tuple(data.get("missing", ()))
            proof = InstallProof(**{**data, "cached": True})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if proof.command != command or proof.ok is None:
            return None
        if not self.offline and _age_seconds(proof.checked_at) > PROOF_FRESH_SECONDS:
            return None
        return proof

    def _store(self, proof: InstallProof) -> InstallProof:
        if proof.ok is None or self.registry_url is None:
            return proof
        record = {"format": PROOF_FORMAT, "registry_url": self.registry_url, "proof": asdict(proof)}
        with contextlib.suppress(OSError):  # an uncached proof is still a proof
            write_atomic(self._cache_path(proof.command), json.dumps(record).encode())
        return proof


def _checkable(spec: str) -> bool:
    """A version, a range or `latest`: what a packument alone answers (not a URL, path, alias
    or another dist-tag)."""
    spec = spec.strip()
    return spec in ("", "*", "latest") or lowest_in_range(spec) is not None


def _kill_group(process: subprocess.Popen[str]) -> None:
    """End npm and anything it started (it runs in its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def choose_installable(
    candidates: Sequence[VersionInfo],
    prover: InstallProver | None,
    *,
    declared: VersionInfo | None = None,
) -> Choice:
    """The first of `candidates` (preferred first) whose install is not disproven.

    With `declared` (what package.json would install) plain `npm install` is proven first; it is
    the answer when it works. A failure about the project itself, not the candidate, stops the
    search: every candidate would fail the same way.
    """
    if prover is None:
        first = declared or (candidates[0] if candidates else None)
        return Choice(first, None)
    skipped: list[Skipped] = []
    tries = ([(declared, True)] if declared else []) + [
        (c, False)
        for c in candidates[:MAX_CANDIDATES]
        if declared is None or c.version != declared.version
    ]
    for info, as_declared in tries:
        proof = prover.prove(info, as_declared=as_declared)
        if proof.ok is False and proof.about_candidate:
            skipped.append(Skipped(info.version, proof))
            continue
        return Choice(info, proof, tuple(skipped))
    return Choice(None, None, tuple(skipped))


def proof_note(proof: InstallProof | None) -> str:
    """How the command was proven, as a parenthesis after it (nothing without a proof)."""
    if proof is None:
        return ""
    if proof.ok and proof.method == "npm":
        return " (proven: `npm install --dry-run` accepts it)"
    if proof.ok:
        return " (proven: its dependencies resolve on the registry; npm is not on the PATH)"
    return f" (not proven: {proof.reason})" if proof.ok is None else ""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def skipped_note(skipped: tuple[Skipped, ...], nv: str) -> str:
    """Why newer versions that support `nv` are not proposed: one reason per kind of failure."""
    groups: dict[tuple[str | None, tuple[str, ...]], list[Skipped]] = {}
    for item in skipped:
        groups.setdefault((item.proof.code, item.proof.missing), []).append(item)
    reasons = []
    for group in groups.values():
        first = group[0].proof
        how = "`npm install --dry-run`" if first.method == "npm" else "resolving its dependencies"
        label = f"{_and([s.version for s in group])}: " if len(groups) > 1 else ""
        reasons.append(f"{label}{first.reason}, found by {how}")
    them = "it" if len(skipped) == 1 else "them"
    return (
        f"Skipped {_and([s.version for s in skipped])}, newer and supporting {nv}: npm cannot "
        f"install {them} from this registry ({'; '.join(reasons)})"
    )


def proof_to_json(proof: InstallProof | None) -> dict[str, Any] | None:
    return None if proof is None else asdict(proof) | {"missing": list(proof.missing)}
