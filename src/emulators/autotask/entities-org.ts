/** Entity definitions: companies, resources and their roles (entities.ts). */
import { entity, f, id, TENANT } from "./entity-model.js";

export const companies = entity(
  "Companies",
  [
    id(),
    f("companyName", "string", { len: 100, req: true }),
    f("companyNumber", "string", { len: 50 }),
    f("companyType", "integer", { req: true, pick: TENANT }),
    f("isActive", "boolean"),
    f("phone", "string", { len: 25, req: true }),
    f("fax", "string", { len: 25 }),
    f("webAddress", "string", { len: 255 }),
    f("address1", "string", { len: 128 }),
    f("address2", "string", { len: 128 }),
    f("city", "string", { len: 50 }),
    f("state", "string", { len: 25 }),
    f("postalCode", "string", { len: 20 }),
    f("countryID", "integer", { ref: "Country" }),
    f("ownerResourceID", "integer", { req: true, ref: "Resource" }),
    f("parentCompanyID", "integer", { ref: "Company" }),
    f("classification", "integer", { pick: TENANT }),
    f("marketSegmentID", "integer"),
    f("territoryID", "integer"),
    f("taxRegionID", "integer"),
    f("taxID", "string", { len: 50 }),
    f("createDate", "datetime", { ro: true }),
    f("createdByResourceID", "integer", { ro: true, ref: "Resource" }),
    f("lastActivityDate", "datetime", { ro: true }),
    f("lastTrackedModifiedDateTime", "datetime", { ro: true }),
    f("currencyID", "integer"),
    f("isClientPortalActive", "boolean"),
    f("isTaskFireActive", "boolean"),
    f("isTaxExempt", "boolean"),
    f("isEnabledForComanaged", "boolean"),
    f("apiVendorID", "integer", { ro: true }),
    f("additionalAddressInformation", "string", { len: 100 }),
  ],
  { singular: "Company", verbs: { create: true, update: true }, udfs: true, idBase: 100 },
);

export const resources = entity(
  "Resources",
  [
    id(),
    f("firstName", "string", { len: 50, req: true }),
    f("lastName", "string", { len: 50, req: true }),
    f("middleName", "string", { len: 50 }),
    f("userName", "string", { len: 32, ro: true }),
    f("email", "string", { len: 50, req: true }),
    f("isActive", "boolean"),
    f("licenseType", "integer", { ro: true, pick: TENANT }),
    f("resourceType", "string", { len: 15, ro: true }),
    f("userType", "integer", { ro: true, pick: TENANT }),
    f("title", "string", { len: 50 }),
    f("locationID", "integer"),
    f("defaultServiceDeskRoleID", "integer", { ref: "Role" }),
    f("officePhone", "string", { len: 25 }),
    f("mobilePhone", "string", { len: 25 }),
    f("payrollType", "integer"),
    f("internalCost", "decimal"),
  ],
  // No POST: resources are created in the UI only (docs/autotask.md, Entities and URLs).
  { singular: "Resource", verbs: { update: true }, idBase: 29682900 },
);

// Roles and a resource's service-desk roles are admin data: query/get only through REST (the
// TimeEntries help page names the rule "a roleID that is valid for the resourceID",
// https://github.com/WYRE-AI/autotask-mcp/issues/280; listed among the REST entities that
// integrations read, https://github.com/WYRE-AI/autotask-mcp/pull/298).
export const roles = entity(
  "Roles",
  [
    id(),
    f("name", "string", { len: 200, ro: true }),
    f("description", "string", { len: 200, ro: true }),
    f("isActive", "boolean", { ro: true }),
    f("hourlyRate", "decimal", { ro: true }),
    f("roleType", "integer", { ro: true }),
  ],
  { singular: "Role", verbs: {}, idBase: 29683400 },
);

export const resourceServiceDeskRoles = entity(
  "ResourceServiceDeskRoles",
  [
    id(),
    f("resourceID", "integer", { ro: true, ref: "Resource" }),
    f("roleID", "integer", { ro: true, ref: "Role" }),
    f("isActive", "boolean", { ro: true }),
    f("isDefault", "boolean", { ro: true }),
  ],
  { singular: "ResourceServiceDeskRole", verbs: {}, idBase: 1 },
);
