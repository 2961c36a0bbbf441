import { rankCompanies } from "../../../src/psa/companies.js";
import type { CompanyPort, PsaCompany } from "../../../src/psa/connector.js";
import type { FakeClient } from "./client.js";

/** The tenant's companies: a search is one request, a look-up by ids another. */
export function fakeCompanies(client: FakeClient): CompanyPort {
  const all = (): PsaCompany[] =>
    [...client.tenant.companies.values()].map((c) => ({
      id: c.id,
      name: c.name,
      identifier: null,
      active: c.active,
    }));
  return {
    search: (query, limit) => client.call("companies.search", () => rankCompanies(all(), query, limit)),
    byIds: (ids) =>
      client.call("companies.byIds", () =>
        all()
          .filter((c) => ids.includes(c.id))
          .sort((a, b) => a.id - b.id),
      ),
  };
}
