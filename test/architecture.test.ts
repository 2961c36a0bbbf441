import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Imports flow one way: api/cli → sync → psa, portal, jobs, store → lib. A module may import its own layer and
 * the layers listed here, nothing else; the web UI may import other layers' types only.
 */
const ALLOWED: Record<string, readonly string[] | "any"> = {
  lib: [],
  store: ["lib"],
  // The job engines: the contract, graphile-worker on PostgreSQL, in-process on SQLite.
  jobs: ["store", "lib"],
  psa: ["lib"],
  // The portal checks a partner's PSA URL against the operator's allow-list (psa/url-policy.ts) when
  // the integration settings are saved: the one thing it needs of the PSA layer.
  portal: ["store", "lib", "psa"],
  sync: ["portal", "psa", "jobs", "store", "lib"],
  // The configuration module reads the environment into the values of the layers below it.
  config: ["sync", "portal", "psa", "jobs", "store", "lib"],
  emulators: ["lib"],
  api: "any",
  cli: "any",
  // The `sync assets` command's output (log, progress bar, summary, plan).
  "cli-sync": "any",
  main: "any",
  demo: "any",
  web: [],
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** The layer of a file (path relative to src, with "/" separators). */
function layerOf(path: string): string {
  const [top = "", ...rest] = path.split("/");
  if (rest.length === 0) return top.replace(/(\.test)?\.[cm]?[jt]sx?$/, "");
  return top;
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Every module a source text names: import and export declarations, import() calls and import types. */
function importsOf(fileName: string, text: string): Import[] {
  const kind = fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, kind);
  const out: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedTypes =
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      const typeOnly =
        clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && allNamedTypes));
      out.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The backward imports of one file (path relative to src), as "from → to" lines. */
function violations(path: string, text: string): string[] {
  const from = layerOf(path);
  const allowed = ALLOWED[from];
  if (allowed === undefined) return [`${path}: no layer "${from}" in the table`];
  const found: string[] = [];
  for (const imp of importsOf(path, text)) {
    if (!imp.specifier.startsWith(".")) continue; // packages and node: built-ins
    const target = relative(SRC, resolve(SRC, dirname(path), imp.specifier))
      .split(sep)
      .join("/");
    if (target.startsWith("..")) {
      found.push(`${path} imports ${imp.specifier}, outside src`);
      continue;
    }
    const to = layerOf(target);
    if (to === from || allowed === "any" || allowed.includes(to)) continue;
    if (from === "web" && imp.typeOnly) continue;
    found.push(`${path} (${from}) imports ${imp.specifier} (${to})`);
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

describe("import directions", () => {
  it("finds backward imports in a made-up file (the checker can fail)", () => {
    expect(violations("store/x.ts", 'import { a } from "../portal/catalog.js";')).toHaveLength(1);
    expect(violations("store/x.ts", 'import type { a } from "../config.js";')).toHaveLength(1);
    expect(violations("sync/x.ts", 'export { a } from "../api/app.js";')).toHaveLength(1);
    expect(violations("psa/autotask/x.ts", 'const m = await import("../../portal/types.js");')).toHaveLength(
      1,
    );
    expect(violations("psa/x.ts", 'let t: import("../sync/engine.js").SyncEngine;')).toHaveLength(1);
    expect(
      violations("emulators/autotask/x.ts", 'import {\n  a,\n  b,\n} from "../../psa/errors.js";'),
    ).toHaveLength(1);
    expect(violations("web/app/x.tsx", 'import { ROLES } from "../../portal/catalog.js";')).toHaveLength(1);
    // Allowed: downward, same layer, packages, type-only imports into the UI, comments.
    expect(violations("sync/x.ts", 'import { a } from "../portal/catalog.js";')).toEqual([]);
    expect(violations("store/x.ts", 'import { a } from "./schema.js";\nimport pg from "pg";')).toEqual([]);
    expect(violations("web/app/x.tsx", 'import type { Role } from "../../portal/catalog.js";')).toEqual([]);
    expect(violations("web/app/x.tsx", 'import { type Role } from "../../portal/catalog.js";')).toEqual([]);
    expect(violations("lib/x.ts", '// import { a } from "../api/app.js";')).toEqual([]);
    expect(violations("main.ts", 'import { a } from "./api/app.js";')).toEqual([]);
  });

  it("has no backward import anywhere under src", () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) =>
      violations(relative(SRC, f).split(sep).join("/"), readFileSync(f, "utf8")),
    );
    expect(found).toEqual([]);
  });
});

/**
 * A PSA is a folder (src/psa/<system>/): only the composition root and the list of built-in manifests
 * reach into one; everything else speaks the seam (src/psa/connector.ts).
 */
const CONNECTOR_DOORS = ["main.ts", "psa/manifests.ts"];

/** Imports of a connector folder from outside it (path relative to src), as "from → to" lines. */
function connectorLeaks(path: string, text: string): string[] {
  const own = /^psa\/([^/]+)\//.exec(path)?.[1];
  if (CONNECTOR_DOORS.includes(path)) return [];
  const found: string[] = [];
  for (const imp of importsOf(path, text)) {
    if (!imp.specifier.startsWith(".")) continue;
    const target = relative(SRC, resolve(SRC, dirname(path), imp.specifier))
      .split(sep)
      .join("/");
    const folder = /^psa\/([^/]+)\//.exec(target)?.[1];
    if (folder !== undefined && folder !== own) found.push(`${path} imports ${imp.specifier}`);
  }
  return found;
}

describe("connector folders", () => {
  it("finds a reach into a connector folder in a made-up file (the checker can fail)", () => {
    expect(
      connectorLeaks("sync/x.ts", 'import type { Ticket } from "../psa/autotask/types.js";'),
    ).toHaveLength(1);
    expect(connectorLeaks("psa/registry.ts", 'import { a } from "./autotask/connector.js";')).toHaveLength(1);
    expect(connectorLeaks("psa/connectwise/x.ts", 'import { a } from "../autotask/mapper.js";')).toHaveLength(
      1,
    );
    expect(connectorLeaks("psa/autotask/x.ts", 'import { a } from "./mapper.js";')).toEqual([]);
    expect(connectorLeaks("sync/x.ts", 'import type { PsaTicket } from "../psa/connector.js";')).toEqual([]);
    expect(connectorLeaks("main.ts", 'import { a } from "./psa/autotask/connector.js";')).toEqual([]);
  });

  it("only the composition root and the manifest list reach into a connector folder", () => {
    const found = sources(SRC).flatMap((f) =>
      connectorLeaks(relative(SRC, f).split(sep).join("/"), readFileSync(f, "utf8")),
    );
    expect(found).toEqual([]);
  });
});

/** The portal's own tables (the sync engine reaches their data only through sync/portal-port.ts). */
const PORTAL_OWNED = [
  "partners",
  "partner_integrations",
  "clients",
  "devices",
  "tickets",
  "ticket_alerts",
  "ticket_notes",
  "mappings",
  "users",
  "sessions",
  "audit_log",
];

/** Queries of portal tables in a source text, as "file: table" lines. */
function portalTableQueries(path: string, text: string): string[] {
  const found: string[] = [];
  const re = /\b(?:selectFrom|updateTable|insertInto|deleteFrom|innerJoin|leftJoin)\(\s*"([a-z_]+)"/g;
  for (const m of text.matchAll(re))
    if (PORTAL_OWNED.includes(m[1] as string)) found.push(`${path}: ${m[1]}`);
  return found;
}

describe("the engine's way into portal data", () => {
  it("finds a query of a portal table in a made-up file (the checker can fail)", () => {
    expect(portalTableQueries("sync/x.ts", 'await k.selectFrom("tickets").selectAll()')).toHaveLength(1);
    expect(portalTableQueries("sync/x.ts", 'k.updateTable(\n  "devices"\n)')).toHaveLength(1);
    expect(portalTableQueries("sync/x.ts", 'await k.selectFrom("ticket_links").selectAll()')).toEqual([]);
  });

  it("src/sync queries no portal table directly", () => {
    const found = sources(join(SRC, "sync")).flatMap((f) =>
      portalTableQueries(relative(SRC, f).split(sep).join("/"), readFileSync(f, "utf8")),
    );
    expect(found).toEqual([]);
  });
});
