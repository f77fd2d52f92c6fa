/** The HTTP API, same origin, with the access token in the Authorization header. Failures are ApiError,
 * carrying the problem document's status, code and detail. */

export class ApiError extends Error {
  constructor(status, problem) {
    const reasons = problem?.errors?.map((error) => error.msg).join("; ");
    super(reasons || problem?.detail || (status ? `The server answered ${status}` : "The server cannot be reached"));
    this.status = status;
    this.code = problem?.code ?? null;
    this.problem = problem;
  }
}

export class Api {
  /** `onSignedOut` runs when a request with a token answers 401: the token expired or was refused. */
  constructor(accessToken = null, { onSignedOut = () => {} } = {}) {
    this.accessToken = accessToken;
    this.onSignedOut = onSignedOut;
  }

  async request(method, path, { body, query, headers: extra = {} } = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const url = query ? `${path}?${new URLSearchParams(query)}` : path;
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
    } catch {
      throw new ApiError(0, null);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new ApiError(response.status, data);
      if (response.status === 401 && this.accessToken) this.onSignedOut(error);
      throw error;
    }
    return data;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body = {}, headers = {}) {
    return this.request("POST", path, { body, headers });
  }

  patch(path, body) {
    return this.request("PATCH", path, { body });
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  /** Every item of a cursor-paged list. */
  async all(path, query = {}) {
    const items = [];
    let cursor = null;
    do {
      const page = await this.get(path, { ...query, limit: 200, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }
}
