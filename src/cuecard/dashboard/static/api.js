// The JSON API, with the token from sessionStorage in the Authorization header: never in a URL,
// a cookie or a log. A 401 forgets the token and sends the user back to the sign-in form.

const KEY = "cuecard.token";
export const session = { abilities: null };

export const token = () => sessionStorage.getItem(KEY);
export const canWrite = () => Boolean(session.abilities && session.abilities.can_write);

export function remember(value) {
  sessionStorage.setItem(KEY, value);
}

export function forget() {
  sessionStorage.removeItem(KEY);
  session.abilities = null;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.code = body && body.code;
    this.errors = body && body.errors;
    this.body = body || {};
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function api(method, path, body, { secret } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${secret || token() || ""}` };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, { message: "The server cannot be reached." });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 300) };
    }
  }
  if (response.status === 401 && !secret) {
    forget();
    window.dispatchEvent(new CustomEvent("cuecard:signed-out", { detail: data && data.message }));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** Every training of an agent (the unpaged list): for search, the flow graph and the diff. */
export async function allTrainings(agentId) {
  return (await get(`/agents/${encodeURIComponent(agentId)}/trainings`)).data;
}
