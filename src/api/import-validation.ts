import { setImmediate as nextTurn } from "node:timers/promises";
import type { TSchema } from "@sinclair/typebox";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import type { FastifySchemaValidationError } from "fastify/types/schema.js";

/** Rows checked per turn of the event loop. */
const CHUNK = 250;

const options = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;

/**
 * Validation of a large array body (a device import) that does not hold the event loop: the route's
 * compiler checks only that the body is an array (its parameters as usual), and `check` then walks
 * the rows against the item schema in chunks, yielding between them. A bad row fails exactly as the
 * schema would have (400 naming `[index].field`), through the one error handler.
 */
export function chunkedArrayBody(itemSchema: TSchema): {
  // biome-ignore lint/suspicious/noExplicitAny: Fastify types the compiler by the route's whole schema
  validatorCompiler: FastifySchemaCompiler<any>;
  check(rows: unknown[]): Promise<void>;
} {
  const strict = addFormats.default(new Ajv({ ...options, coerceTypes: false }));
  const coercing = addFormats.default(new Ajv({ ...options, coerceTypes: "array" }));
  const item = strict.compile(itemSchema);
  const arrayOnly = Object.assign<
    (data: unknown) => boolean,
    { errors: FastifySchemaValidationError[] | null }
  >(
    (data: unknown): boolean => {
      arrayOnly.errors = Array.isArray(data)
        ? null
        : [
            {
              instancePath: "",
              schemaPath: "#/type",
              keyword: "type",
              params: { type: "array" },
              message: "must be array",
            },
          ];
      return arrayOnly.errors === null;
    },
    { errors: null },
  );
  return {
    validatorCompiler: ({ schema, httpPart }) => (httpPart === "body" ? arrayOnly : coercing.compile(schema)),
    async check(rows) {
      for (const [i, row] of rows.entries()) {
        if (i > 0 && i % CHUNK === 0) await nextTurn();
        if (item(row)) continue;
        const first = item.errors?.[0];
        throw Object.assign(
          new Error(`body/${i}${first?.instancePath ?? ""} ${first?.message ?? "invalid"}`),
          {
            statusCode: 400,
            validationContext: "body",
            validation: [{ ...first, instancePath: `/${i}${first?.instancePath ?? ""}` }],
          },
        );
      }
    },
  };
}
