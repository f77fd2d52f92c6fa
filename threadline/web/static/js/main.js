/** Threadline's web app: the sign-in screen, or the signed-in shell. */

import { renderAuth } from "./auth-view.js";
import { loadSession, saveSession } from "./session.js";
import { Shell } from "./shell.js";

const root = document.getElementById("app");

function signedIn(session) {
  new Shell(root, session, { onSignOut: signedOut }).start();
}

function signedOut(notice = null) {
  history.replaceState(null, "", location.pathname);
  renderAuth(root, { notice, onSignedIn: (login) => signedIn(saveSession(login)) });
}

const session = loadSession();
if (session) signedIn(session);
else signedOut();
