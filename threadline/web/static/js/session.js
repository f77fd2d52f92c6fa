/** The signed-in session, kept in sessionStorage: it survives a reload of this tab, is not shared with
 * other tabs, and goes when the tab closes. The access token is never put in a URL. */

const KEY = "threadline.session";

export function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY));
    return session && session.expiresAt > Date.now() ? session : null;
  } catch {
    return null;
  }
}

/** Keep the answer of `POST /v1/auth/login`. */
export function saveSession(login) {
  const session = {
    accessToken: login.access_token,
    expiresAt: Date.now() + login.expires_in * 1000,
    user: login.user,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
