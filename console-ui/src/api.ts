// A typed client for /api/v1. The browser sends the session cookie the
// console set at login (HttpOnly, SameSite=Strict); no token is kept in JS.

/** An error answered by the console (`{error: {code, message}}`) or a transport failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

type Query = Record<string, string | number | boolean | null | undefined>;

/** Listeners told when the session is gone (401 on an authenticated call). */
const expiredListeners: Array<() => void> = [];

export function onSessionExpired(listener: () => void): void {
  expiredListeners.push(listener);
}

export function buildQuery(query?: Query): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

function isErrorBody(v: unknown): v is { error: { code: string; message: string } } {
  if (typeof v !== "object" || v === null || !("error" in v)) return false;
  const e = (v as { error: unknown }).error;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

export async function request<T>(
  method: string,
  path: string,
  options: { body?: unknown; query?: Query; quiet401?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let resp: Response;
  try {
    resp = await fetch(`/api/v1${path}${buildQuery(options.query)}`, init);
  } catch (e) {
    throw new ApiError(0, "network", `the console did not answer (${String(e)})`);
  }
  const text = await resp.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!resp.ok) {
    if (resp.status === 401 && !options.quiet401) {
      for (const l of expiredListeners) l();
    }
    if (isErrorBody(parsed)) {
      throw new ApiError(resp.status, parsed.error.code, parsed.error.message);
    }
    throw new ApiError(resp.status, "http", `${resp.status} ${resp.statusText || "error"}`);
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query): Promise<T> => request<T>("GET", path, { query });
export const post = <T>(path: string, body?: unknown): Promise<T> =>
  request<T>("POST", path, { body: body ?? {} });
export const patch = <T>(path: string, body: unknown): Promise<T> => request<T>("PATCH", path, { body });
export const del = (path: string): Promise<unknown> => request<unknown>("DELETE", path);
