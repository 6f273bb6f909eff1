// The example's own test suite (`npm test`): node's built-in runner, no dependencies, so the
// checklist's "Tests: all E2E passing" step really runs here.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

test("the app declares the Next.js version the plan hardens", async () => {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(pkg.dependencies.next, "16.1.4");
});

test("the error boundary exists for Sentry to report from", async () => {
  const source = await readFile(
    new URL("../src/components/error-boundary.tsx", import.meta.url),
    "utf8",
  );
  assert.match(source, /componentDidCatch/);
});
