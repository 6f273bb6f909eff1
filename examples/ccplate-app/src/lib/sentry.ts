// TODO: Re-enable when @sentry/nextjs supports Next.js 16
// import * as Sentry from "@sentry/nextjs";

// Sentry is disabled: @sentry/nextjs 8.x declares no support for Next.js 16, so the helpers
// below stay commented out until the SDK is upgraded.

// export function initSentry() {
//   Sentry.init({
//     dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
//     environment: process.env.NODE_ENV,
//     tracesSampleRate: 1.0,
//   });
// }

// export function captureError(error: Error, context?: Record<string, unknown>) {
//   Sentry.captureException(error, { extra: context });
// }

// export function setUser(user: { id: string; email?: string; username?: string } | null) {
//   Sentry.setUser(user);
// }

export {};
