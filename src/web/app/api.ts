/** The REST client: every call carries `Authorization: Bearer <token>`; errors become ApiError. */

const TOKEN_KEY = "nocbridge.token";
const MODE_KEY = "nocbridge.signin";

/** How the current token was obtained: a password session (revoked at sign-out) or a pasted API token. */
export type SignInMode = "password" | "token";

export const tokenStore = {
  get(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  mode(): SignInMode {
    return sessionStorage.getItem(MODE_KEY) === "password" ? "password" : "token";
  },
  set(token: string, mode: SignInMode): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(MODE_KEY, mode);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(MODE_KEY);
  },
};

/** An error answer: `{statusCode, error, code, message, field?}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Called when the server answers 401 to a signed-in call (token revoked or expired). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  token: string | null = tokenStore.get(),
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Check your connection and try again.");
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string; field?: string };
    if (res.status === 401 && token) onUnauthorized();
    throw new ApiError(res.status, e.code ?? "HTTP", e.message ?? `${res.status} ${res.statusText}`, e.field);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The message to show for any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
