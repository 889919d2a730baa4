// The JSON API from the console page: same-origin cookie auth, the CSRF header on every change.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  constructor(csrf, onSessionEnded) {
    this.csrf = csrf;
    this.onSessionEnded = onSessionEnded;
    this.clockOffsetS = 0;           // server time - browser time, from the Date header
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, `the service cannot be reached (${err.message})`);
    }
    const date = Date.parse(response.headers.get('Date') || '');
    if (!Number.isNaN(date)) {
      const offset = (date - Date.now()) / 1000;
      this.clockOffsetS = Math.abs(offset) > 2 ? offset : 0;   // the header has a 1 s resolution
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && typeof data.error === 'string') ? data.error : `HTTP ${response.status}`;
      if (response.status === 401) this.onSessionEnded(message);
      throw new ApiError(response.status, message, data);
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }

  /** Now in epoch seconds on the server's clock (offers' expires_at are server times). */
  now() { return Date.now() / 1000 + this.clockOffsetS; }
}
