import { Type } from "@sinclair/typebox";

/**
 * Schemas of the partner's PSA companies: the Setup picker's search and the auto-match proposals
 * (GET /api/partners/:partnerId/psa-companies, POST /api/partners/:partnerId/clients/auto-match).
 */

export const PsaCompany = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    identifier: Type.Union([Type.String(), Type.Null()], {
      description: "The PSA's own short identifier (ConnectWise); null where it has none (Autotask)",
    }),
    active: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const PsaCompanyQuery = Type.Object(
  {
    query: Type.Optional(
      Type.String({ maxLength: 100, description: "Part of the name (case-insensitive); empty: all" }),
    ),
    ids: Type.Optional(
      Type.String({
        pattern: "^[0-9]{1,10}(,[0-9]{1,10}){0,99}$",
        description: "Instead of a search: these companies by id (comma-separated, at most 100)",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 25 })),
  },
  { additionalProperties: false },
);

export const PsaCompanyList = Type.Object({
  psaLabel: Type.String(),
  items: Type.Array(PsaCompany),
});

export const MatchKind = Type.Union([Type.Literal("exact"), Type.Literal("normalised")], {
  description:
    "exact: the same name; normalised: the same name once case, punctuation, whitespace and legal suffixes are set aside",
});

export const MatchProposal = Type.Object({
  clientId: Type.Integer(),
  clientCode: Type.String(),
  clientName: Type.String(),
  companyId: Type.Integer(),
  companyName: Type.String(),
  kind: MatchKind,
});

export const AutoMatchResult = Type.Object({
  psaLabel: Type.String(),
  proposals: Type.Array(MatchProposal, {
    description: "Nothing is saved: confirm each through PATCH /api/clients/:clientId",
  }),
  unmatched: Type.Array(
    Type.Object({
      clientId: Type.Integer(),
      clientCode: Type.String(),
      clientName: Type.String(),
      reason: Type.Union([Type.Literal("none"), Type.Literal("ambiguous")]),
      candidates: Type.Array(PsaCompany),
    }),
  ),
});
