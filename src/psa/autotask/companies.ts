import { COMPANY_SEARCH_MAX, rankCompanies } from "../companies.js";
import type { CompanyPort, PsaCompany } from "../connector.js";
import type { AutotaskApi } from "./api.js";
import type { AutotaskEntity, QueryFilter } from "./types.js";

interface CompanyRow extends AutotaskEntity {
  companyName?: string | null;
  isActive?: boolean | null;
}

const FIELDS = ["id", "companyName", "isActive"] as const;
/** Autotask's page size (MaxRecords ≤ 500, docs/autotask.md, Paging and counts). */
const PAGE = 500;
/** Ids per `in` condition (Autotask counts each as an OR condition; at most 500 per query). */
const IDS_PER_QUERY = 400;

const toCompany = (r: CompanyRow): PsaCompany => ({
  id: r.id,
  name: String(r.companyName ?? `Company ${r.id}`),
  identifier: null,
  active: r.isActive !== false,
});

/**
 * Autotask companies: `Companies/query` with a `contains` filter on companyName (Autotask compares
 * text case-insensitively) and the id, name and active flag only. Autotask answers in id order, so a
 * search reads whole pages until it has at least `limit` matches (at least one page), then ranks them
 * active first and by name.
 */
export function autotaskCompanies(api: AutotaskApi): CompanyPort {
  const read = async (filter: QueryFilter, want: number): Promise<CompanyRow[]> => {
    const out: CompanyRow[] = [];
    for await (const page of api.query<CompanyRow>("Companies", {
      filter,
      includeFields: FIELDS,
      maxRecords: PAGE,
    })) {
      out.push(...page);
      if (out.length >= want) break;
    }
    return out;
  };
  return {
    async search(query, limit) {
      const q = query.trim();
      const filter: QueryFilter =
        q === ""
          ? [{ op: "gte", field: "id", value: 0 }]
          : [{ op: "contains", field: "companyName", value: q }];
      const want = Math.max(PAGE, Math.min(limit, COMPANY_SEARCH_MAX));
      return rankCompanies((await read(filter, want)).map(toCompany), q, limit);
    },

    async byIds(ids) {
      const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id)))];
      const out: PsaCompany[] = [];
      for (let i = 0; i < unique.length; i += IDS_PER_QUERY) {
        const chunk = unique.slice(i, i + IDS_PER_QUERY);
        const rows = await read([{ op: "in", field: "id", value: chunk }], Number.POSITIVE_INFINITY);
        out.push(...rows.map(toCompany));
      }
      return out.sort((a, b) => a.id - b.id);
    },
  };
}
