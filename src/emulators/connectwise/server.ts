/**
 * The ConnectWise PSA (Manage) emulator over HTTPS: `GET /login/companyinfo/{companyId}`, the REST
 * API under `/{codebase}/apis/3.0/` (api.ts), the callback signing-key endpoint behind `key_url`, and
 * the admin API under `/_emulator/` (admin.ts). `startConnectWiseEmulator` generates a self-signed
 * certificate for 127.0.0.1, listens, and wires faults (faults.ts) and callbacks (callbacks.ts).
 */
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { registerAdminRoutes } from "./admin.js";
import { Api, type ApiOptions, authenticate, type Caller, operationName } from "./api.js";
import { CallbackEngine, type CallbackOptions } from "./callbacks.js";
import {
  DOCUMENT_MAX_BYTES,
  type DocumentAnswer,
  type DocumentOptions,
  handleDocuments,
} from "./documents.js";
import { CwError, routeNotFound } from "./errors.js";
import { type CwFaultOptions, CwFaults } from "./faults.js";
import { DEFAULT_CLIENT_ID, DEFAULT_COMPANY_ID, DEFAULT_KEYS, type SeedName, seedTenant } from "./seed.js";
import { CwStore } from "./store.js";
import { selfSignedCertificate, type TlsMaterial } from "./tls.js";

/** The API version the emulator reports in `api-current-version`. */
export const API_VERSION = "2025.1";

export interface StartConnectWiseEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the admin API has no auth. */
  host?: string;
  companyId?: string;
  companyName?: string;
  publicKey?: string;
  privateKey?: string;
  /** The integration's clientId; requests must send it. Default DEFAULT_CLIENT_ID. */
  clientId?: string;
  seed?: SeedName;
  /** Versioned codebase of the first tenant (default "v2025_1"); v4_6_release is accepted too. */
  codebase?: string;
  /** Multiplies callback retry delays/timeouts and injected latency/holds (tests use 0.001). */
  timeScale?: number;
  faults?: Partial<CwFaultOptions>;
  /** Seed of the fault streams (same seed + same traffic → same faults). */
  randomSeed?: number | string;
  /** Callback delivery options; false = no delivery. */
  callbacks?: Partial<CallbackOptions> | false;
  api?: Partial<ApiOptions>;
  /** Documents on tickets: size limit, and whether a new one stamps its ticket (default: no). */
  documents?: Partial<DocumentOptions>;
  /** Clock of `_info` stamps (tests move it). */
  now?: () => Date;
  /** Writes the certificate PEM clients must trust to this file. */
  caOut?: string;
  /** Use this key and certificate instead of generating one. */
  tls?: TlsMaterial;
}

export interface CwStats {
  requests: number;
  /** "<operation> <resource>" → count, e.g. "list service/tickets", "update company/configurations". */
  byOperation: Record<string, number>;
  rejected: { auth: number; throttle: number; fault429: number; fault500: number };
  afterApply: { timeout: number; error500: number };
}

export class CwStatsCounter {
  private s = CwStatsCounter.zero();
  private static zero(): CwStats {
    return {
      requests: 0,
      byOperation: {},
      rejected: { auth: 0, throttle: 0, fault429: 0, fault500: 0 },
      afterApply: { timeout: 0, error500: 0 },
    };
  }
  count(op: string): void {
    this.s.requests++;
    this.s.byOperation[op] = (this.s.byOperation[op] ?? 0) + 1;
  }
  reject(kind: keyof CwStats["rejected"]): void {
    this.s.rejected[kind]++;
  }
  afterApply(kind: keyof CwStats["afterApply"]): void {
    this.s.afterApply[kind]++;
  }
  reset(): void {
    this.s = CwStatsCounter.zero();
  }
  snapshot(): CwStats {
    return structuredClone(this.s);
  }
}

export interface RunningConnectWiseEmulator {
  /** Origin, e.g. "https://127.0.0.1:40123". */
  readonly url: string;
  /** `${url}/v4_6_release/apis/3.0` */
  readonly baseUrl: string;
  readonly port: number;
  /** PEM of the certificate to trust. */
  readonly caPem: string;
  readonly credentials: { companyId: string; publicKey: string; privateKey: string; clientId: string };
  readonly app: FastifyInstance;
  readonly store: CwStore;
  readonly stats: CwStatsCounter;
  readonly faults: CwFaults;
  readonly callbacks: CallbackEngine;
  readonly apiOptions: ApiOptions;
  /** Headers of an API call with the first tenant's credentials. */
  headers(): Record<string, string>;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "cache-control": "no-cache",
  pragma: "no-cache",
  "strict-transport-security": "max-age=31536000",
};

function parseJson(raw: unknown): unknown {
  if (raw === undefined || raw === null || raw === "") return undefined;
  try {
    return JSON.parse(String(raw));
  } catch {
    throw new CwError(400, {
      code: "InvalidObject",
      message: "The request body is not valid JSON.",
      errors: null,
    });
  }
}

export async function startConnectWiseEmulator(
  o: StartConnectWiseEmulatorOptions = {},
): Promise<RunningConnectWiseEmulator> {
  const host = o.host ?? "127.0.0.1";
  const tls = o.tls ?? (await selfSignedCertificate(host));
  const now = o.now ?? (() => new Date());
  const timeScale = o.timeScale ?? 1;
  const store = new CwStore();
  const credentials = {
    companyId: o.companyId ?? DEFAULT_COMPANY_ID,
    publicKey: o.publicKey ?? DEFAULT_KEYS.publicKey,
    privateKey: o.privateKey ?? DEFAULT_KEYS.privateKey,
    clientId: o.clientId ?? DEFAULT_CLIENT_ID,
  };
  const seed: SeedName = o.seed ?? "demo";
  const seedFirst = () =>
    seedTenant(seed, { ...credentials, companyName: o.companyName, codebase: o.codebase, now: now() });
  store.add(seedFirst());
  store.clientIds.add(credentials.clientId.toLowerCase());

  const stats = new CwStatsCounter();
  const faults = new CwFaults(
    { ...(o.randomSeed !== undefined ? { seed: o.randomSeed } : {}), ...o.faults },
    timeScale,
  );
  let origin = "https://127.0.0.1";
  const callbacks = new CallbackEngine(
    o.callbacks === false ? { enabled: false, timeScale } : { timeScale, ...o.callbacks },
    faults,
    () => origin,
    now,
  );
  const apiOptions: ApiOptions = {
    authFailureStatus: 401,
    forwardOnlyLinkOnLastPage: true,
    keyUrlRequiresAuth: true,
    ...o.api,
  };
  const api = new Api({ store, now, callbacks, options: apiOptions });

  const app = Fastify({
    https: { key: tls.key, cert: tls.cert },
    logger: false,
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  const documents: DocumentOptions = { maxBytes: DOCUMENT_MAX_BYTES, touchTicket: false, ...o.documents };
  // Document uploads: the bytes as they came (a little over the limit is read, to refuse it by name).
  app.addContentTypeParser(
    /^multipart\/form-data/i,
    { parseAs: "buffer", bodyLimit: documents.maxBytes + 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  const sockets = new Set<Socket>();
  app.server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const holds = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const send = (reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) => {
    reply.code(status).headers({
      ...SECURITY_HEADERS,
      "x-cw-request-id": randomUUID(),
      "api-current-version": API_VERSION,
      ...headers,
    });
    if (body === undefined) return reply.send();
    return reply.type("application/json; charset=utf-8").send(JSON.stringify(body));
  };

  const startOptions = {
    api: { ...apiOptions },
    faults: faults.snapshot(),
    callbacks: callbacks.snapshot().options,
  };
  const restoreOptions = () => {
    Object.assign(apiOptions, startOptions.api);
    faults.configure(startOptions.faults);
    callbacks.configure(startOptions.callbacks);
  };
  registerAdminRoutes(app, {
    store,
    stats,
    faults,
    callbacks,
    apiOptions,
    now,
    seedFirst,
    credentials,
    restoreOptions,
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const selfUrl = new URL(req.url, `https://${req.headers.host ?? "127.0.0.1"}`);
    const path = selfUrl.pathname.replace(/\/{2,}/g, "/");
    try {
      const info = /^\/login\/companyinfo\/([^/]+)\/?$/i.exec(path);
      if (info) {
        stats.count("get login/companyinfo");
        const t = store.tenant(decodeURIComponent(info[1] as string));
        if (req.method !== "GET")
          throw new CwError(405, { code: "ConnectWiseApi", message: "Method not allowed." });
        if (!t) throw new CwError(404, { code: "NotFound", message: "Company not found" });
        return send(reply, 200, {
          CompanyName: t.companyName,
          Codebase: `${t.codebase}/`,
          VersionCode: `v${API_VERSION}`,
          VersionNumber: `v4.6.${API_VERSION.replace(".", "")}`,
          CompanyID: t.companyId,
          IsCloud: "True",
        });
      }
      if (/^\/[^/]+\/system\/callbackkey\/index\.rails$/i.test(path)) {
        stats.count("get system/callbackkey");
        const t = store.tenant(selfUrl.searchParams.get("companyName") ?? "");
        if (!t || selfUrl.searchParams.get("id") !== t.signingKeyId)
          throw new CwError(404, { code: "NotFound", message: "Callback key not found" });
        if (apiOptions.keyUrlRequiresAuth) {
          const caller = authenticate({ store, now, options: apiOptions }, req.headers);
          if (caller.tenant !== t)
            throw new CwError(404, { code: "NotFound", message: "Callback key not found" });
        }
        return send(reply, 200, { signing_key: t.signingKey });
      }
      const m = /^\/([^/]+)\/apis\/3\.0\/(.+?)\/?$/i.exec(path);
      if (!m) throw routeNotFound();
      const segs = (m[2] as string).split("/").map(decodeURIComponent);
      stats.count(operationName(req.method, segs));
      let caller: Caller;
      try {
        caller = authenticate({ store, now, options: apiOptions }, req.headers);
      } catch (err) {
        stats.reject("auth");
        throw err;
      }
      const codebase = (m[1] as string).toLowerCase();
      if (codebase !== "v4_6_release" && codebase !== caller.tenant.codebase.toLowerCase())
        throw routeNotFound();
      const clientId = String(req.headers["clientid"] ?? "").toLowerCase();
      const wait = faults.throttle(`${caller.tenant.companyId.toLowerCase()}/${clientId}`, now().getTime());
      if (wait !== undefined) {
        stats.reject("throttle");
        return send(
          reply,
          429,
          { error: "ConnectWiseAPI", message: `Too many requests. Please try again in ${wait} seconds.` },
          { "retry-after": String(wait) },
        );
      }
      const d = faults.decide(req.method);
      if (d.latencyMs > 0) await sleep(d.latencyMs);
      if (d.reject?.status === 429) {
        stats.reject("fault429");
        const s = d.reject.retryAfter ?? 1;
        return send(
          reply,
          429,
          { error: "ConnectWiseAPI", message: `Too many requests. Please try again in ${s} seconds.` },
          { "retry-after": String(s) },
        );
      }
      if (d.reject?.status === 500) {
        stats.reject("fault500");
        return send(reply, 500, {
          code: "ConnectWiseApi",
          message: "An error has occurred. (emulator: injected fault)",
        });
      }
      let ans: DocumentAnswer;
      if (segs[0]?.toLowerCase() === "system" && segs[1]?.toLowerCase() === "documents") {
        const contentType = String(req.headers["content-type"] ?? "");
        const raw = req.body as Buffer | string | undefined;
        ans = await handleDocuments(
          { method: req.method, segs, params: selfUrl.searchParams, contentType, body: raw },
          caller,
          now,
          documents,
        );
      } else {
        const body = req.method === "GET" || req.method === "DELETE" ? undefined : parseJson(req.body);
        ans = api.handle(
          { method: req.method, segs, params: selfUrl.searchParams, headers: req.headers, body, selfUrl },
          caller,
        );
      }
      if (d.afterApply === "error500") {
        stats.afterApply("error500");
        return send(reply, 500, {
          code: "ConnectWiseApi",
          message: "An error has occurred. (emulator: injected fault)",
        });
      }
      if (d.afterApply === "timeout") {
        stats.afterApply("timeout");
        reply.hijack();
        const h = setTimeout(() => {
          holds.delete(h);
          req.raw.socket.destroy();
        }, faults.timeoutHoldMs());
        holds.add(h);
        return;
      }
      if ("bytes" in ans) {
        reply.code(200).headers({
          ...SECURITY_HEADERS,
          "x-cw-request-id": randomUUID(),
          "content-disposition": `attachment; filename="${ans.fileName.replace(/["\\\r\n]/g, "_")}"`,
        });
        return reply.type(ans.contentType).send(ans.bytes);
      }
      return send(reply, ans.status, ans.body, ans.headers);
    } catch (err) {
      if (err instanceof CwError) return send(reply, err.status, err.body);
      return send(reply, 500, { code: "ConnectWiseApi", message: "An error has occurred." });
    }
  };
  app.route({ method: ["GET", "POST", "PUT", "PATCH", "DELETE"], url: "/*", handler });

  await app.listen({ port: o.port ?? 0, host });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : (o.port ?? 0);
  const shownHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  origin = `https://${shownHost}:${port}`;
  if (o.caOut) await writeFile(o.caOut, tls.cert, { mode: 0o644 });

  return {
    url: origin,
    baseUrl: `${origin}/v4_6_release/apis/3.0`,
    port,
    caPem: tls.cert,
    credentials,
    app,
    store,
    stats,
    faults,
    callbacks,
    apiOptions,
    headers: () => ({
      authorization: `Basic ${Buffer.from(`${credentials.companyId}+${credentials.publicKey}:${credentials.privateKey}`).toString("base64")}`,
      clientId: credentials.clientId,
      "content-type": "application/json",
    }),
    close: async () => {
      for (const h of holds) clearTimeout(h);
      holds.clear();
      await callbacks.close();
      for (const s of sockets) s.destroy();
      await app.close();
    },
  };
}
