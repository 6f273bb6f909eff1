"""Real Next.js project folders for the wiring tests: the shipped CCPLATE example, a Sentry
wizard layout (root or src/), a Pages Router app, and one with disabled Sentry calls.

Each builder writes files into a tmp folder; line numbers the tests assert on are kept as
constants next to the sources that define them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ccplate-app"
PEER_10 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"

WIZARD_INSTRUMENTATION = """\
import * as Sentry from "@sentry/nextjs";

export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    await import("./sentry.server.config");
  }

  if (process.env.NEXT_RUNTIME === "edge") {
    await import("./sentry.edge.config");
  }
}

export const onRequestError = Sentry.captureRequestError;
"""
WIZARD_SERVER_CONFIG = """\
import * as Sentry from "@sentry/nextjs";

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  tracesSampleRate: 1,
});
"""
WIZARD_CLIENT = """\
import * as Sentry from "@sentry/nextjs";

Sentry.init({
  dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
});

export const onRouterTransitionStart = Sentry.captureRouterTransitionStart;
"""
WIZARD_GLOBAL_ERROR = """\
"use client";

import * as Sentry from "@sentry/nextjs";
import NextError from "next/error";
import { useEffect } from "react";

export default function GlobalError({ error }: { error: Error & { digest?: string } }) {
  useEffect(() => {
    Sentry.captureException(error);
  }, [error]);

  return (
    <html>
      <body>
        <NextError statusCode={0} />
      </body>
    </html>
  );
}
"""
WIZARD_NEXT_CONFIG = """\
import { withSentryConfig } from "@sentry/nextjs";

/** @type {import('next').NextConfig} */
const nextConfig = {};

export default withSentryConfig(nextConfig, {
  org: process.env.SENTRY_ORG,
  project: process.env.SENTRY_PROJECT,
  silent: !process.env.CI,
});
"""
LAYOUT = """\
export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
"""
ENV_EXAMPLE = (
    "SENTRY_DSN=https://key@o1.ingest.sentry.io/1\nSENTRY_ORG=acme\nSENTRY_PROJECT=web\n"
    "NEXT_PUBLIC_SENTRY_DSN=${SENTRY_DSN}\n"
)

DISABLED_INSTRUMENTATION = """\
import * as Sentry from "@sentry/nextjs";

// TODO(sentry): turn Sentry back on after the Next.js upgrade
const SENTRY_ENABLED = false;

export async function register() {
  if (SENTRY_ENABLED) {
    await import("./sentry.server.config");
  }
  // if (process.env.NEXT_RUNTIME === "edge") {
  //   await import("./sentry.edge.config");
  // }
}

// export const onRequestError = Sentry.captureRequestError;
"""
"""Server init behind `if (SENTRY_ENABLED)` at line 8, edge import commented at line 11,
onRequestError commented at line 15."""
DISABLED_CLIENT = """\
import * as Sentry from "@sentry/nextjs";

/* Sentry.init({
  dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
}); */
"""
"""Client init in a block comment at line 3."""
DISABLED_GLOBAL_ERROR = """\
"use client";

import { useEffect } from "react";

export default function GlobalError({ error }: { error: Error }) {
  useEffect(() => {
    // TODO: Sentry.captureException(error) once the DSN is provisioned
    console.error(error);
  }, [error]);
  return <html><body>Something went wrong</body></html>;
}
"""
"""Root-layout capture only named by a TODO at line 7."""
DISABLED_BOUNDARY = """\
"use client";

import * as Sentry from "@sentry/nextjs";
import { Component, type ReactNode } from "react";

export class Boundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };

  componentDidCatch(error: Error) {
    if (false) {
      Sentry.captureException(error);
    }
  }

  render() {
    return this.state.failed ? null : this.props.children;
  }
}
"""
"""componentDidCatch at line 9; its capture is behind `if (false)` at line 11."""

PAGES_ERROR = """\
import * as Sentry from "@sentry/nextjs";
import Error from "next/error";

const CustomErrorComponent = (props) => <Error statusCode={props.statusCode} />;

CustomErrorComponent.getInitialProps = async (contextData) => {
  await Sentry.captureUnderscoreErrorException(contextData);
  return Error.getInitialProps(contextData);
};

export default CustomErrorComponent;
"""
"""The wizard's pages/_error.jsx: the capture at line 7."""


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ccplate_copy(folder: Path) -> Path:
    """examples/ccplate-app in its plan state (its own .npmrc/.env.local left to the caller)."""
    shutil.copytree(EXAMPLE, folder)
    return folder


def _package_files(
    root: Path, *, next_version: str, sentry: str | None, name: str = "wizard-app"
) -> None:
    deps = {"next": next_version, "react": "^19.2.3", "react-dom": "^19.2.3"}
    packages: dict[str, dict[str, object]] = {
        "node_modules/next": {"version": next_version, "engines": {"node": ">=20.9.0"}},
    }
    if sentry is not None:
        deps["@sentry/nextjs"] = f"^{sentry}"
        packages["node_modules/@sentry/nextjs"] = {
            "version": sentry,
            "engines": {"node": ">=18"},
            "peerDependencies": {"next": PEER_10},
        }
    write(root, "package.json", json.dumps({"name": name, "dependencies": deps}, indent=2))
    lock = {
        "name": name,
        "lockfileVersion": 3,
        "packages": {"": {"name": name, "dependencies": deps}, **packages},
    }
    write(root, "package-lock.json", json.dumps(lock, indent=2))
    write(root, ".nvmrc", "22.12.0\n")
    write(root, ".env.example", ENV_EXAMPLE)


def wizard_project(
    folder: Path,
    *,
    src: bool = False,
    next_version: str = "16.1.4",
    sentry: str = "10.78.0",
    request_hook: bool = True,
) -> Path:
    """What `npx @sentry/wizard -i nextjs` leaves: every error path wired (App Router)."""
    _package_files(folder, next_version=next_version, sentry=sentry)
    base = "src/" if src else ""
    # The wizard puts sentry.*.config beside package.json; from src/ they are one level up.
    up = "../" if src else "./"
    instrumentation = WIZARD_INSTRUMENTATION.replace("./sentry.", f"{up}sentry.")
    if not request_hook:
        instrumentation = instrumentation.replace(
            "\nexport const onRequestError = Sentry.captureRequestError;\n", ""
        )
    write(folder, f"{base}instrumentation.ts", instrumentation)
    write(folder, f"{base}instrumentation-client.ts", WIZARD_CLIENT)
    write(folder, "sentry.server.config.ts", WIZARD_SERVER_CONFIG)
    write(folder, "sentry.edge.config.ts", WIZARD_SERVER_CONFIG)
    write(folder, f"{base}app/global-error.tsx", WIZARD_GLOBAL_ERROR)
    write(folder, f"{base}app/layout.tsx", LAYOUT)
    write(
        folder, f"{base}app/page.tsx", "export default function Home() {\n  return <main />;\n}\n"
    )
    write(folder, "next.config.mjs", WIZARD_NEXT_CONFIG)
    write(
        folder, "tsconfig.json", json.dumps({"compilerOptions": {"paths": {"@/*": [f"./{base}*"]}}})
    )
    return folder


def pages_project(folder: Path, *, capture: bool = True) -> Path:
    """A Pages Router app (JavaScript) wired by the wizard, with `pages/_error.jsx`."""
    wizard_project(folder)
    shutil.rmtree(folder / "app")
    (folder / "tsconfig.json").unlink()
    write(folder, "pages/index.jsx", "export default function Home() {\n  return <main />;\n}\n")
    text = (
        PAGES_ERROR
        if capture
        else PAGES_ERROR.replace(
            "  await Sentry.captureUnderscoreErrorException(contextData);\n", ""
        )
    )
    write(folder, "pages/_error.jsx", text)
    return folder


def disabled_project(folder: Path) -> Path:
    """The wizard's files with each Sentry call switched off a different way."""
    wizard_project(folder)
    write(folder, "instrumentation.ts", DISABLED_INSTRUMENTATION)
    write(folder, "instrumentation-client.ts", DISABLED_CLIENT)
    write(folder, "app/global-error.tsx", DISABLED_GLOBAL_ERROR)
    write(folder, "components/boundary.tsx", DISABLED_BOUNDARY)
    return folder
