import { COMPANY_SEARCH_MAX, rankCompanies } from "../companies.js";
import type { CompanyPort, PsaCompany } from "../connector.js";
import type { ConnectWiseApi } from "./api.js";
import { chunks, inList, str } from "./query.js";

interface CompanyRec {
  id: number;
  name?: string | null;
  identifier?: string | null;
  deletedFlag?: boolean | null;
}

const FIELDS = ["name", "identifier", "deletedFlag"] as const;
/** Ids per `in (…)` list, short enough for one request URL. */
const IDS_PER_QUERY = 100;

const toCompany = (r: CompanyRec): PsaCompany => ({
  id: r.id,
  name: String(r.name ?? r.identifier ?? `Company ${r.id}`),
  identifier: r.identifier ?? null,
  active: r.deletedFlag !== true,
});

/**
 * ConnectWise companies: `company/companies` with `conditions=name like "%q%"` (`%` is the wildcard;
 * ConnectWise compares text case-insensitively, docs/connectwise.md, Queries), ordered by name, with
 * the name, identifier and deleted flag only. A `%` or `_` the person typed is a wildcard there, so
 * the answer is filtered again on the plain text.
 */
export function connectwiseCompanies(api: ConnectWiseApi): CompanyPort {
  return {
    async search(query, limit) {
      const q = query.trim();
      const capped = Math.max(1, Math.min(limit, COMPANY_SEARCH_MAX));
      const rows = await api.all<CompanyRec>("company/companies", {
        ...(q === "" ? {} : { conditions: `name like ${str(`%${q}%`)}` }),
        orderBy: "name asc",
        fields: FIELDS,
        pageSize: Math.min(1000, Math.max(capped, 25)),
        limit: capped,
      });
      return rankCompanies(rows.map(toCompany), q, limit);
    },

    async byIds(ids) {
      const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id)))];
      const out: PsaCompany[] = [];
      for (const chunk of chunks(unique, IDS_PER_QUERY)) {
        const rows = await api.all<CompanyRec>("company/companies", {
          conditions: inList("id", chunk),
          fields: FIELDS,
        });
        out.push(...rows.map(toCompany));
      }
      return out.sort((a, b) => a.id - b.id);
    },
  };
}
