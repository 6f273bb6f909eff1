"""The code `sentry setup` writes: the hardening plan's helpers (tasks 4.1.2 and 4.1.3) for the
CCPLATE layout, the Sentry wizard's files for the standard one.

Each template is also what setup recognises in a commented-out block: a block is re-enabled
only when its lines are a contiguous run of the template's.
"""

from __future__ import annotations

FLAG = "SENTRY_ENABLED"
"""The plan's "partial support" row says "implement with feature flags" without naming one."""
PUBLIC_FLAG = f"NEXT_PUBLIC_{FLAG}"
"""The same flag for the browser: Next.js inlines only NEXT_PUBLIC_* variables into it."""
SERVER_GATE = f'process.env.{FLAG} === "true"'
CLIENT_GATE = f'process.env.{PUBLIC_FLAG} === "true"'

IMPORT_SENTRY = 'import * as Sentry from "@sentry/nextjs";'
ON_REQUEST_ERROR = "export const onRequestError = {alias}.captureRequestError;"
DSN_CHECK = "process.env.NEXT_PUBLIC_SENTRY_DSN"

PLAN_HELPER_TS = """\
import * as Sentry from "@sentry/nextjs";

export function initSentry() {
  Sentry.init({
    dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
    environment: process.env.NODE_ENV,
    tracesSampleRate: 1.0,
  });
}

export function captureError(error: Error, context?: Record<string, unknown>) {
  Sentry.captureException(error, { extra: context });
}

export function setUser(user: { id: string; email?: string; username?: string } | null) {
  Sentry.setUser(user);
}

export function addBreadcrumb(
  message: string,
  category?: string,
  level: "info" | "warning" | "error" = "info"
) {
  Sentry.addBreadcrumb({ message, category, level });
}
"""
PLAN_HELPER_JS = """\
import * as Sentry from "@sentry/nextjs";

export function initSentry() {
  Sentry.init({
    dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
    environment: process.env.NODE_ENV,
    tracesSampleRate: 1.0,
  });
}

export function captureError(error, context) {
  Sentry.captureException(error, { extra: context });
}

export function setUser(user) {
  Sentry.setUser(user);
}

export function addBreadcrumb(message, category, level = "info") {
  Sentry.addBreadcrumb({ message, category, level });
}
"""
HELPER_FUNCTIONS = ("initSentry", "captureError", "setUser", "addBreadcrumb")


def helper_template(typescript: bool) -> str:
    return PLAN_HELPER_TS if typescript else PLAN_HELPER_JS


def helper_units(typescript: bool) -> dict[str, list[str]]:
    """The plan helper's exported functions, each as its lines (for appending a missing one)."""
    units: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in helper_template(typescript).splitlines():
        if line.startswith("export function "):
            name = line.removeprefix("export function ").split("(")[0]
            current = units.setdefault(name, [])
        if current is not None:
            current.append(line)
            if line == "}":
                current = None
    return units


def dsn_condition(gate: bool, *, client: bool) -> str:
    """`if (...)` of the plan's register(): the DSN, and with the feature flag, the flag."""
    if not gate:
        return f"if ({DSN_CHECK}) {{"
    return f"if ({DSN_CHECK} && {CLIENT_GATE if client else SERVER_GATE}) {{"


def plan_register_block(gate: bool, indent: str = "  ") -> list[str]:
    return [
        f"{indent}{dsn_condition(gate, client=False)}",
        f"{indent}  initSentry();",
        f"{indent}}}",
    ]


def plan_instrumentation(specifier: str, gate: bool) -> str:
    """The plan's `src/instrumentation.ts` (task 4.1.2)."""
    return "\n".join(
        [
            f'import {{ initSentry }} from "{specifier}";',
            "",
            "export async function register() {",
            *plan_register_block(gate),
            "}",
            "",
        ]
    )


def plan_instrumentation_known(specifier: str) -> list[str]:
    """Lines a commented-out plan instrumentation may hold (with or without the flag)."""
    return [
        *plan_instrumentation(specifier, False).splitlines(),
        dsn_condition(True, client=False),
        IMPORT_SENTRY,
        ON_REQUEST_ERROR.format(alias="Sentry"),
    ]


def plan_client(specifier: str, gate: bool) -> str:
    """`instrumentation-client.ts` for the CCPLATE layout: the browser starts the same helper."""
    return "\n".join(
        [
            f'import {{ initSentry }} from "{specifier}";',
            "",
            dsn_condition(gate, client=True),
            "  initSentry();",
            "}",
            "",
        ]
    )


def init_block(dsn_variable: str, gate: str | None) -> list[str]:
    """`Sentry.init({ dsn })`, behind the feature flag's `if` when `gate` is given."""
    lines = ["Sentry.init({", f"  dsn: process.env.{dsn_variable},", "});"]
    if gate is None:
        return lines
    return [f"if ({gate}) {{", *(f"  {line}" for line in lines), "}"]


def wizard_init_file(dsn_variable: str, gate: str | None) -> str:
    """The wizard's `sentry.server.config.ts` / `sentry.edge.config.ts` /
    `instrumentation-client.ts`: the namespace import and one init."""
    return "\n".join([IMPORT_SENTRY, "", *init_block(dsn_variable, gate), ""])


def wizard_init_known(dsn_variable: str) -> list[str]:
    return [IMPORT_SENTRY, *init_block(dsn_variable, None)]


def runtime_block(runtime: str, specifier: str, indent: str = "  ") -> list[str]:
    return [
        f'{indent}if (process.env.NEXT_RUNTIME === "{runtime}") {{',
        f'{indent}  await import("{specifier}");',
        f"{indent}}}",
    ]


def wizard_instrumentation(server_spec: str, edge_spec: str) -> str:
    """The wizard's `instrumentation.ts` without its onRequestError (added as its own edit)."""
    return "\n".join(
        [
            IMPORT_SENTRY,
            "",
            "export async function register() {",
            *runtime_block("nodejs", server_spec),
            "",
            *runtime_block("edge", edge_spec),
            "}",
            "",
        ]
    )


def wizard_instrumentation_known(server_spec: str, edge_spec: str) -> list[str]:
    return [
        *wizard_instrumentation(server_spec, edge_spec).splitlines(),
        ON_REQUEST_ERROR.format(alias="Sentry"),
    ]


def global_error(typescript: bool) -> str:
    """`app/global-error.tsx` as Sentry's Next.js guide writes it."""
    props = "{ error }: { error: Error & { digest?: string } }" if typescript else "{ error }"
    return "\n".join(
        [
            '"use client";',
            "",
            IMPORT_SENTRY,
            'import { useEffect } from "react";',
            "",
            f"export default function GlobalError({props}) {{",
            *capture_effect("Sentry.captureException(error);", "  "),
            "",
            "  return (",
            "    <html>",
            "      <body>",
            "        <h1>Something went wrong</h1>",
            "      </body>",
            "    </html>",
            "  );",
            "}",
            "",
        ]
    )


def pages_error() -> str:
    """The wizard's `pages/_error.jsx`."""
    return "\n".join(
        [
            IMPORT_SENTRY,
            'import Error from "next/error";',
            "",
            "const CustomError = (props) => <Error statusCode={props.statusCode} />;",
            "",
            "CustomError.getInitialProps = async (contextData) => {",
            "  await Sentry.captureUnderscoreErrorException(contextData);",
            "  return Error.getInitialProps(contextData);",
            "};",
            "",
            "export default CustomError;",
            "",
        ]
    )


def capture_effect(call: str, indent: str) -> list[str]:
    return [f"{indent}useEffect(() => {{", f"{indent}  {call}", f"{indent}}}, [error]);"]


SENTRY_CONFIG_OPTIONS = [
    "  org: process.env.SENTRY_ORG,",
    "  project: process.env.SENTRY_PROJECT,",
    "  silent: !process.env.CI,",
]

ENV_HEADER = "# Sentry Error Monitoring"
ENV_KEYS = (
    ("SENTRY_DSN", "https://your-sentry-dsn-here"),
    ("SENTRY_ORG", "your-org"),
    ("SENTRY_PROJECT", "your-project"),
    ("NEXT_PUBLIC_SENTRY_DSN", "${SENTRY_DSN}"),
)
"""The plan's `.env.example` block (task 4.1.2), in its order."""
FLAG_KEYS = ((FLAG, "false"), (PUBLIC_FLAG, f"${{{FLAG}}}"))
FLAG_COMMENT = (
    f'# Partial support (the plan\'s feature flag): Sentry starts only where {FLAG} is "true"'
)
