import { randomBytes } from "node:crypto";
import { type TObject, Type } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../src/api/app.js";
import { mergeObjects } from "../src/api/schemas.js";
import { systemClock } from "../src/lib/clock.js";
import { SecretBox } from "../src/lib/crypto.js";
import { SYSTEM_ACTOR } from "../src/portal/access.js";
import { PortalError } from "../src/portal/errors.js";
import { Portal } from "../src/portal/service.js";
import type { IntegrationInput } from "../src/portal/types.js";
import { AUTOTASK_MANIFEST } from "../src/psa/autotask/manifest.js";
import type { ConnectorManifest } from "../src/psa/connector.js";
import { openTestServices, STORES, snapshot, type TestEnv, testApp } from "./helpers/services.js";

type Method = "GET" | "PUT" | "POST";

const INTEGRATION = {
  ticketing: {
    enabled: true,
    nocMayEnterTickets: true,
    system: "autotask",
    apiUrl: "http://127.0.0.1:9/ATServicesRest/",
    username: "noc@example.com",
    secret: "s3cr3t-Value-42",
    integrationCode: "INTCODE123",
    queueId: 18151451,
    queueName: "NOC",
    billingCodeId: 78955512,
    billingCodeName: "Remote Support",
  },
  devices: { enabled: true, productId: 101, configurationItemTypeId: 5, advanced: true, schedule: null },
};

/** A second PSA, as a connector's manifest would describe it: a board and a site instead of a queue. */
const OTHER: ConnectorManifest = {
  system: "otherpsa",
  label: "Other PSA",
  fields: [
    { key: "site", section: "ticketing", label: "Site", kind: "url" },
    {
      key: "company",
      section: "ticketing",
      label: "Company",
      kind: "text",
      required: true,
      credential: true,
    },
    {
      key: "secret",
      section: "ticketing",
      label: "Private key",
      kind: "secret",
      required: true,
      credential: true,
    },
    {
      key: "boardId",
      section: "ticketing",
      label: "Board",
      kind: "picklist",
      options: "boards",
      required: true,
    },
    { key: "typeId", section: "devices", label: "Type", kind: "picklist", options: "types", required: true },
  ],
  schema: {
    ticketing: Type.Object({
      site: Type.Optional(Type.String({ maxLength: 500 })),
      company: Type.String({ maxLength: 100 }),
      boardId: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    }),
    devices: Type.Object({ typeId: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) }),
  },
  statusScope: { label: "Board", settingKey: "boardId" },
};

describe.each(STORES)("integration settings by the connector's manifest on %s", (kind) => {
  let env: TestEnv;
  let app: App;
  const t = { noc: "", admin: "", tech: "", ro: "" };
  let partnerId = 0;

  async function call(token: string, method: Method, url: string, body?: unknown) {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read loosely-typed JSON answers
    return { status: res.statusCode, body: res.body ? (res.json() as any) : undefined };
  }

  beforeAll(async () => {
    env = await openTestServices(kind, { psaOrigins: ["http://127.0.0.1:9"] });
    app = await testApp(env);
    const portal = env.services.portal;
    t.noc = (await portal.createUser(SYSTEM_ACTOR, { name: "Nora", role: "noc-admin" })).token;
    partnerId = (await portal.createPartner(SYSTEM_ACTOR, { name: "Alpha IT" })).id;
    const user = async (role: "partner-admin" | "technician" | "read-only") =>
      (await portal.createUser(SYSTEM_ACTOR, { name: role, role, partnerId })).token;
    t.admin = await user("partner-admin");
    t.tech = await user("technician");
    t.ro = await user("read-only");
    const put = await call(t.admin, "PUT", `/api/partners/${partnerId}/integration`, INTEGRATION);
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it("GET /api/psa/systems answers every signed-in role with the manifests' public parts", async () => {
    expect((await call("", "GET", "/api/psa/systems")).status).toBe(401);
    for (const token of [t.noc, t.admin, t.tech, t.ro]) {
      const r = await call(token, "GET", "/api/psa/systems");
      expect(r.status).toBe(200);
      expect(r.body.map((s: { system: string }) => s.system)).toEqual(["autotask", "connectwise"]);
    }
    const [autotask] = (await call(t.ro, "GET", "/api/psa/systems")).body;
    expect(autotask.label).toBe("Autotask");
    expect(autotask).not.toHaveProperty("schema");
    expect(autotask.fields.map((f: { key: string }) => f.key)).toEqual(
      AUTOTASK_MANIFEST.fields.map((f) => f.key),
    );
    expect(autotask.fields.find((f: { key: string }) => f.key === "queueId")).toMatchObject({
      section: "ticketing",
      label: "Queue Id",
      kind: "picklist",
      options: "queues",
      labelKey: "queueName",
      required: true,
    });
    expect(autotask.fields.find((f: { key: string }) => f.key === "subIssueTypeId")).toMatchObject({
      parent: "issueTypeId",
      group: "defaults",
    });
    expect(autotask.fields.find((f: { key: string }) => f.key === "internalNotePublish").choices).toEqual([
      { id: 2, label: "Internal Project Team" },
      { id: 4, label: "Internal & Co-Managed" },
    ]);
    expect(autotask.groups.defaults.label).toBe("Ticket defaults");
  });

  it("answers an unknown system and a wrong-typed or unknown connector field with 400 naming it, writing nothing", async () => {
    const before = await snapshot(env);
    const url = `/api/partners/${partnerId}/integration`;
    const cases: Array<[unknown, string]> = [
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: "halopsa" } }, "ticketing.system"],
      // Autotask's fields are not ConnectWise's.
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: "connectwise" } },
        "ticketing.apiUrl",
      ],
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: 7 } }, "ticketing.system"],
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, queueId: true } }, "ticketing.queueId"],
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, username: 42 } }, "ticketing.username"],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, dueDateOffsetHours: "4" } },
        "ticketing.dueDateOffsetHours",
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, dueDateOffsetHours: 9000 } },
        "ticketing.dueDateOffsetHours",
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, internalNotePublish: 3 } },
        "ticketing.internalNotePublish",
      ],
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, sourceId: 1.5 } }, "ticketing.sourceId"],
      [{ ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, boardId: 3 } }, "ticketing.boardId"],
      [{ ...INTEGRATION, devices: { ...INTEGRATION.devices, productId: "101" } }, "devices.productId"],
      [
        { ...INTEGRATION, devices: { ...INTEGRATION.devices, configurationItemTypeId: -5 } },
        "devices.configurationItemTypeId",
      ],
    ];
    for (const [body, field] of cases) {
      const r = await call(t.admin, "PUT", url, body);
      expect(r.status, field).toBe(400);
      expect(r.body.field, JSON.stringify(body)).toBe(field);
      expect(r.body.message).toContain(field);
    }
    expect(await snapshot(env)).toBe(before);
  });

  it("checks the same in the portal itself, whoever calls it, writing nothing", async () => {
    const before = await snapshot(env);
    const portal = env.services.portal;
    const put = (body: unknown) => portal.putIntegration(SYSTEM_ACTOR, partnerId, body as IntegrationInput);
    const cases: Array<[unknown, string, RegExp]> = [
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: "halopsa" } },
        "ticketing.system",
        /"halopsa" is not a PSA system this nocbridge runs \(autotask, connectwise\)/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, system: "connectwise" } },
        "ticketing.apiUrl",
        /is not a field of the ConnectWise settings/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, queueId: "18151451" } },
        "ticketing.queueId",
        /whole number/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, internalNotePublish: 3 } },
        "ticketing.internalNotePublish",
        /must be 2 \(Internal Project Team\) or 4 \(Internal & Co-Managed\)/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, boardId: 3 } },
        "ticketing.boardId",
        /not a field/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, username: undefined } },
        "ticketing.username",
        /required/,
      ],
      [
        { ...INTEGRATION, ticketing: { ...INTEGRATION.ticketing, subIssueTypeId: 220, issueTypeId: null } },
        "ticketing.subIssueTypeId",
        /a sub-issue type needs its issue type \(ticketing\.issueTypeId\)/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const e = await put(body).catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(PortalError);
      expect((e as PortalError).field).toBe(field);
      expect((e as PortalError).message).toMatch(message);
    }
    expect(await snapshot(env)).toBe(before);
  });

  it("takes a mapping row's scope, applies the one-row rules per scope, and reads Autotask's rows as unscoped", async () => {
    const url = `/api/partners/${partnerId}/mappings/status-reverse`;
    const start = await call(t.admin, "GET", url);
    expect(start.body.rows.every((r: { scope: unknown }) => r.scope === null)).toBe(true);
    const before = await snapshot(env);
    const twice = await call(t.admin, "PUT", url, [
      { psaStatusId: 30, portalStatusId: 19, scope: 7 },
      { psaStatusId: 30, portalStatusId: 9, scope: 7 },
    ]);
    expect(twice.status).toBe(400);
    expect(twice.body.field).toBe("rows[1].psaStatusId");
    expect(twice.body.message).toContain("in scope 7");
    const badScope = await call(t.admin, "PUT", url, [{ psaStatusId: 30, portalStatusId: 19, scope: -1 }]);
    expect(badScope.status).toBe(400);
    expect(badScope.body.field).toBe("[0].scope");
    expect(await snapshot(env)).toBe(before);

    const put = await call(t.admin, "PUT", url, [
      { psaStatusId: 30, portalStatusId: 19, psaStatusName: "New", scope: 7 },
      { psaStatusId: 30, portalStatusId: 9, psaStatusName: "New", scope: 8 },
      { psaStatusId: 30, portalStatusId: 19, psaStatusName: "Assigned to NOC" },
    ]);
    expect(put.status).toBe(200);
    expect(
      put.body.rows.map((r: { psaStatusId: number; scope: unknown }) => [r.psaStatusId, r.scope]),
    ).toEqual([
      [30, 7],
      [30, 8],
      [30, null],
    ]);
    const added = await call(t.admin, "POST", url, { psaStatusId: 5, portalStatusId: 3, scope: 8 });
    expect(added.status).toBe(201);
    expect(added.body.rows.map((r: { scope: unknown }) => r.scope)).toEqual([7, 8, null, 8]);
    const entries = await env.services.portal.getMappings(SYSTEM_ACTOR, partnerId, "status-reverse");
    expect(entries.map((m) => m.scope)).toEqual([7, 8, null, 8]);
    const restore = start.body.rows.map(
      ({ psaStatusId, portalStatusId, psaStatusName }: Record<string, unknown>) => ({
        psaStatusId,
        portalStatusId,
        psaStatusName,
      }),
    );
    expect((await call(t.admin, "PUT", url, restore)).status).toBe(200);
  });

  it("with a second connector's manifest, checks a partner's fields by the system it chooses", async () => {
    const box = new SecretBox(randomBytes(32));
    const portal = new Portal(env.services.db, box, systemClock, {
      manifests: [AUTOTASK_MANIFEST, OTHER],
      psaUrlRefusal: () => null,
    });
    expect(portal.psaSystems().map((s) => s.system)).toEqual(["autotask", "otherpsa"]);
    const p = (await portal.createPartner(SYSTEM_ACTOR, { name: "Two systems" })).id;
    await portal.putIntegration(SYSTEM_ACTOR, p, INTEGRATION as unknown as IntegrationInput);
    const other = (ticketing: Record<string, unknown>, devices: Record<string, unknown> = {}) =>
      portal
        .putIntegration(SYSTEM_ACTOR, p, {
          ticketing: { enabled: true, nocMayEnterTickets: false, system: "otherpsa", ...ticketing },
          devices: { enabled: false, advanced: false, typeId: null, ...devices },
        } as unknown as IntegrationInput)
        .catch((e: unknown) => e as PortalError);
    // Autotask's fields are not the other system's; its secret does not carry over.
    expect(((await other({ company: "acme", boardId: 3, queueId: 5 })) as PortalError).field).toBe(
      "ticketing.queueId",
    );
    expect(((await other({ company: "acme", boardId: 3 })) as PortalError).field).toBe("ticketing.secret");
    expect(((await other({ company: "acme", boardId: null, secret: "k" })) as PortalError).field).toBe(
      "ticketing.boardId",
    );
    expect(
      ((await other({ company: "acme", boardId: 3, secret: "k", site: "ftp://x" })) as PortalError).field,
    ).toBe("ticketing.site");
    const saved = await portal.putIntegration(SYSTEM_ACTOR, p, {
      ticketing: {
        enabled: true,
        nocMayEnterTickets: false,
        system: "otherpsa",
        company: " acme ",
        boardId: 3,
        secret: "k",
      },
      devices: { enabled: false, advanced: false, typeId: null },
    } as unknown as IntegrationInput);
    expect(saved.ticketing).toEqual({
      enabled: true,
      nocMayEnterTickets: false,
      system: "otherpsa",
      site: "",
      company: "acme",
      boardId: 3,
      secret: "********",
    });
    expect(saved.devices).toEqual({
      enabled: false,
      typeId: null,
      advanced: false,
      schedule: "0 2 10,25 * *",
    });
    expect((await portal.integrationForSync(p)).secret).toBe("k");
  });

  it("merges several systems' schemas into one the API validates with (system one of theirs)", () => {
    const a = Type.Object(
      { system: Type.Literal("a"), x: Type.Integer(), shared: Type.String() },
      { additionalProperties: false },
    );
    const b = Type.Object(
      { system: Type.Literal("b"), y: Type.Optional(Type.String()), shared: Type.String() },
      { additionalProperties: false },
    );
    expect(mergeObjects([a])).toBe(a);
    const m = mergeObjects([a, b]);
    expect(m.additionalProperties).toBe(false);
    expect([...(m.required ?? [])].sort()).toEqual(["shared", "system"]);
    expect(m.properties.system?.anyOf?.map((s: { const: string }) => s.const)).toEqual(["a", "b"]);
    expect(m.properties.x?.type).toBe("integer");
    expect(m.properties.y?.type).toBe("string");
    // Nested objects merge the same way: a property optional in each stays optional.
    const outer = (inner: typeof a | typeof b) => Type.Object({ t: inner }, { additionalProperties: false });
    const both = Type.Object(
      { system: Type.Literal("b"), y: Type.Optional(Type.String()), shared: Type.String() },
      { additionalProperties: false },
    );
    const nested = mergeObjects([outer(a), outer(both)]).properties.t as TObject;
    expect([...(nested.required ?? [])].sort()).toEqual(["shared", "system"]);
    const again = mergeObjects([outer(b), outer(both)]).properties.t as TObject;
    expect([...(again.required ?? [])].sort()).toEqual(["shared", "system"]);
  });
});
