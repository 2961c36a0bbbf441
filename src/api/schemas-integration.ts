import {
  OptionalKind,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  Type,
} from "@sinclair/typebox";
import {
  BUILTIN_MANIFESTS,
  type BuiltinManifest,
  PSA_SYSTEMS,
  type PsaSystem as PsaSystemKey,
} from "../psa/manifests.js";

/**
 * The API's schemas of the integration settings and of the PSA systems' settings fields, built from
 * the built-in connectors' manifests (psa/manifests.ts); schemas.ts exports them with the rest.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Str = (max: number) => Type.String({ maxLength: max });
const StringEnum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values] });

// The integration settings: the switches every partner has, and inside `ticketing` and `devices` the
// connector's own fields, from the built-in connectors' manifests (psa/manifests.ts). Each system's
// shape is one object; with several systems, the API takes and answers the objects merged (a field
// of any system, `system` one of theirs) and the portal checks the fields of the chosen system.

const TicketingCommon = { enabled: Type.Boolean(), nocMayEnterTickets: Type.Boolean() };
const SecretShown = Type.String({ description: '"********" when a secret is stored, else ""' });

/**
 * A manifest's parts as type parameters of their own: a property read on a manifest typed by a type
 * parameter would take the type of every manifest's property at once.
 */
interface ManifestParts<S extends string, T extends TProperties, D extends TProperties> {
  system: S;
  schema: { ticketing: TObject<T>; devices: TObject<D> };
}

/** One system's settings as the API answers them. */
const integrationOf = <S extends string, T extends TProperties, D extends TProperties>(
  m: ManifestParts<S, T, D>,
) =>
  Type.Object({
    ticketing: Type.Object({
      ...TicketingCommon,
      system: Type.Literal(m.system),
      ...Type.Required(m.schema.ticketing).properties,
      secret: SecretShown,
    }),
    devices: Type.Object({
      enabled: Type.Boolean(),
      ...Type.Required(m.schema.devices).properties,
      advanced: Type.Boolean(),
      schedule: Type.String(),
    }),
    updatedAt: Nullable(Type.String()),
  });

/**
 * One system's settings as a PUT carries them: `system` omitted keeps the stored one; a connector
 * field its manifest marks Optional may be left out.
 */
const integrationPutOf = <S extends string, T extends TProperties, D extends TProperties>(
  m: ManifestParts<S, T, D>,
) =>
  Type.Object(
    {
      ticketing: Type.Object(
        {
          ...TicketingCommon,
          system: Type.Optional(Type.Literal(m.system)),
          ...m.schema.ticketing.properties,
          secret: Type.Optional(Nullable(Str(500))),
        },
        { additionalProperties: false },
      ),
      devices: Type.Object(
        {
          enabled: Type.Boolean(),
          ...m.schema.devices.properties,
          advanced: Type.Boolean(),
          schedule: Type.Optional(Nullable(Str(100))),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );

type PartsOf<M extends BuiltinManifest> = [
  M["system"],
  M["schema"]["ticketing"]["properties"],
  M["schema"]["devices"]["properties"],
];
type PutOf<P extends [string, TProperties, TProperties]> = Static<
  ReturnType<typeof integrationPutOf<P[0], P[1], P[2]>>
>;
type ViewOf<P extends [string, TProperties, TProperties]> = Static<
  ReturnType<typeof integrationOf<P[0], P[1], P[2]>>
>;
/** Each system's static shape, one of them (a union when there are several). */
type IntegrationPutStatic = { [M in BuiltinManifest as M["system"]]: PutOf<PartsOf<M>> }[PsaSystemKey];
type IntegrationStatic = { [M in BuiltinManifest as M["system"]]: ViewOf<PartsOf<M>> }[PsaSystemKey];

const PARTS: ReadonlyArray<ManifestParts<string, TProperties, TProperties>> = BUILTIN_MANIFESTS;
export const IntegrationPut = Type.Unsafe<IntegrationPutStatic>(mergeObjects(PARTS.map(integrationPutOf)));
export const Integration = Type.Unsafe<IntegrationStatic>(mergeObjects(PARTS.map(integrationOf)));

/**
 * Object schemas merged into one: each property of any of them (a property several define
 * differently takes any of their forms, merged again where all are objects), required where all
 * require it. One schema is returned as it is.
 */
export function mergeObjects(schemas: readonly TObject[]): TObject {
  const [first, ...rest] = schemas;
  if (!first) throw new Error("no schemas to merge");
  if (rest.length === 0) return first;
  const keys = [...new Set(schemas.flatMap((s) => Object.keys(s.properties)))];
  const properties: TProperties = {};
  for (const key of keys) {
    const forms = schemas.flatMap((s) => (s.properties[key] ? [notOptional(s.properties[key])] : []));
    const distinct = forms.filter(
      (f, i) => forms.findIndex((g) => JSON.stringify(g) === JSON.stringify(f)) === i,
    );
    const objects = distinct.filter((f): f is TObject => f.type === "object" && f.properties !== undefined);
    const merged =
      distinct.length === 1
        ? (distinct[0] as TSchema)
        : objects.length === distinct.length
          ? mergeObjects(objects)
          : Type.Union(distinct);
    const everywhere = schemas.every((s) => s.required?.includes(key) ?? false);
    properties[key] = everywhere ? merged : Type.Optional(merged);
  }
  const closed = schemas.every((s) => s.additionalProperties === false);
  return Type.Object(properties, closed ? { additionalProperties: false } : {});
}
/**
 * The schema without its Optional mark (whether the merged property is optional is decided above).
 * Type.Required would not do: on an object it also makes each of its properties required.
 */
function notOptional(s: TSchema): TSchema {
  const copy: TSchema = { ...s };
  delete (copy as unknown as Record<symbol, unknown>)[OptionalKind];
  return copy;
}

/** A settings field of a PSA connector, as its manifest describes it (psa/connector.ts ManifestField). */
export const PsaField = Type.Object({
  key: Type.String(),
  section: StringEnum(["ticketing", "devices"] as const),
  label: Type.String(),
  kind: StringEnum(["text", "url", "secret", "number", "picklist", "boolean"] as const),
  options: Type.Optional(Type.String({ description: "the psa/options list that offers its values" })),
  choices: Type.Optional(Type.Array(Type.Object({ id: Type.Integer(), label: Type.String() }))),
  parent: Type.Optional(Type.String({ description: "the field whose value filters this one's options" })),
  labelKey: Type.Optional(Type.String({ description: "the field that keeps the chosen option's label" })),
  required: Type.Optional(Type.Boolean()),
  credential: Type.Optional(Type.Boolean()),
  noun: Type.Optional(Type.String()),
  keepWhenOmitted: Type.Optional(Type.Boolean()),
  help: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
});
/** A PSA system a partner may choose: its settings fields, for the Setup form. */
export const PsaSystem = Type.Object({
  system: Type.String({ description: PSA_SYSTEMS.join(", ") }),
  label: Type.String(),
  fields: Type.Array(PsaField),
  groups: Type.Optional(
    Type.Record(Type.String(), Type.Object({ label: Type.String(), help: Type.Optional(Type.String()) })),
  ),
  statusScope: Type.Optional(
    Type.Object(
      { label: Type.String(), settingKey: Type.String() },
      {
        description:
          "The PSA's statuses belong to the value of this ticketing setting (a ConnectWise board): status mapping rows carry it as their scope",
      },
    ),
  ),
});
