// TODO: Re-enable when @sentry/nextjs supports Next.js 16
// import { initSentry } from "@/lib/sentry";

export async function register() {
  // if (process.env.NEXT_PUBLIC_SENTRY_DSN) {
  //   initSentry();
  // }
}
