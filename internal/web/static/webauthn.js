// Security keys and passkeys (WebAuthn) for Trove's pages. A button with
// data-webauthn="create" (register) or "get" (sign in) runs a ceremony:
// POST data-begin → options, the browser's authenticator, POST
// data-finish with the answer → a page to go to, or recovery codes to
// show once. Served as a file: the CSP allows no inline script.
"use strict";
(function () {
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { j = { error: r.status + " " + r.statusText }; }
    if (!r.ok) { throw new Error(j.error || r.statusText); }
    return j;
  }

  function say(text, ok) {
    const s = document.getElementById("webauthn-status");
    if (!s) { return; }
    s.textContent = text;
    s.className = ok ? "ok" : "err";
  }

  function showCodes(codes) {
    const box = document.getElementById("webauthn-codes");
    const list = box.querySelector("ul");
    list.replaceChildren();
    codes.forEach(function (c) {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = c;
      li.appendChild(code);
      list.appendChild(li);
    });
    box.hidden = false;
  }

  async function run(btn) {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say("This browser cannot use security keys here; use another browser, or a code.", false);
      return;
    }
    btn.disabled = true;
    say("Waiting for your security key…", true);
    try {
      const extra = { next: btn.dataset.next || "" };
      if (btn.dataset.name) { extra.name = document.getElementById(btn.dataset.name).value; }
      const begun = await post(btn.dataset.begin, {});
      let cred;
      if (btn.dataset.webauthn === "create") {
        cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begun.options.publicKey) });
      } else {
        cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begun.options.publicKey) });
      }
      const done = await post(btn.dataset.finish, Object.assign({ token: begun.token, credential: cred.toJSON() }, extra));
      if (done.codes && done.codes.length) {
        say("Security key added.", true);
        showCodes(done.codes);
        return;
      }
      say("Done.", true);
      window.location.assign(done.redirect);
    } catch (err) {
      say(err.message || String(err), false);
    } finally {
      btn.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-webauthn]").forEach(function (b) {
      b.addEventListener("click", function (e) { e.preventDefault(); run(b); });
    });
  });
})();
