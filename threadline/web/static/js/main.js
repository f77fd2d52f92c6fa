/** Threadline's web app: the sign-in screen, or the signed-in shell. */

import { renderAuth } from "./auth-view.js";
import { loadSession, saveSession } from "./session.js";
import { Shell } from "./shell.js";

const root = document.getElementById("app");

function signedIn(session) {
  new Shell(root, session, { onSignOut: signedOut }).start();
}

/** After a sign-out the route is dropped, so the next person starts afresh; a link followed while signed
 * out keeps its route, to be opened once signed in. */
function signedOut(notice = null) {
  history.replaceState(null, "", location.pathname);
  showSignIn(notice);
}

function showSignIn(notice = null) {
  renderAuth(root, { notice, onSignedIn: (login) => signedIn(saveSession(login)) });
}

const session = loadSession();
if (session) signedIn(session);
else showSignIn();
