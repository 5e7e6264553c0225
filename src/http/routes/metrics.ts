import type { AuthPlugin } from "../auth.ts";
import { Elysia, t } from "elysia";
import type { Metrics } from "../../metrics.ts";
import { ErrorBody } from "../schemas.ts";

/**
 * Prometheus' scrape: admins only (the operator's ACCESS_TOKEN, an admin's
 * token or session; everyone in the open local mode, who is the operator),
 * since its labels name every channel, private ones included.
 */
export const metricsRoutes = (metrics: Metrics, auth: AuthPlugin) =>
  new Elysia({ name: "metrics" }).use(auth).get(
    "/metrics",
    async () => new Response(await metrics.text(), { headers: { "content-type": metrics.contentType, "cache-control": "no-store" } }),
    {
      auth: "admin",
      response: { 200: t.String({ description: "The exposition (text/plain; version=0.0.4)" }), 401: ErrorBody, 403: ErrorBody },
      detail: {
        summary: "Metrics in Prometheus' text format (version 0.0.4)",
        description:
          "Messages sent and pulled, commit duration and messages per commit (histograms), sync failures and unpushed commits per channel, live streams, rate-limited requests, the process's start time. Admins only: its labels name every channel.",
      },
    },
  );
