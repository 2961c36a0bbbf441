/**
 * ConnectWise error answers: `{ code, message, errors? }` bodies (docs/connectwise-emulator.md,
 * "Errors"). Thrown by every module, turned into an HTTP answer in one place (server.ts).
 */

export interface ValidationError {
  code: string;
  message: string;
  resource: string;
  field: string;
}

export interface CwErrorBody {
  code: string;
  message: string;
  errors?: ValidationError[] | null;
}

export class CwError extends Error {
  constructor(
    readonly status: number,
    readonly body: CwErrorBody | Record<string, unknown>,
  ) {
    super(typeof body["message"] === "string" ? body["message"] : `HTTP ${status}`);
  }
}

/** 400 InvalidObject with one or more field errors, e.g. a missing required field. */
export function invalidObject(resource: string, errors: ValidationError[]): CwError {
  return new CwError(400, { code: "InvalidObject", message: `${resource} object is invalid`, errors });
}

export function fieldError(resource: string, field: string, code: string, message: string): ValidationError {
  return { code, message, resource, field };
}

/** 404 of a missing record: `{"code":"NotFound","message":"Ticket 57919 not found"}`. */
export function notFound(label: string, id: number | string): CwError {
  return new CwError(404, { code: "NotFound", message: `${label} ${id} not found` });
}

export function routeNotFound(): CwError {
  return new CwError(404, { code: "ConnectWiseApi", message: "The endpoint does not exist." });
}

export function badRequest(message: string, errors?: ValidationError[]): CwError {
  return new CwError(
    400,
    errors ? { code: "InvalidObject", message, errors } : { code: "BadRequest", message },
  );
}

/** The hint the API gives after a malformed `conditions` literal. */
export const LITERAL_HINT =
  "String values should be enclosed with double or single quotes; DateTime values should be enclosed in square brackets; numbers should consist of numbers only; boolean values should be true or false; null values should be null.";

export function badConditions(parameter: string, detail: string): CwError {
  return new CwError(400, {
    code: "InvalidObject",
    message: `${parameter}: ${detail} ${LITERAL_HINT}`,
    errors: [{ code: "InvalidField", message: detail, resource: "query", field: parameter }],
  });
}
