// Passkey ceremonies for the Sealpost portal. The page holds one
// <button id="passkey"> whose data attributes give the begin and finish
// URLs, the ceremony ("create" or "get") and the messages to show.
"use strict";
(function () {
  var button = document.getElementById("passkey");
  var status = document.getElementById("passkey-status");
  if (!button || !status) return;

  function say(text) { status.textContent = text || ""; }

  function toBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  async function post(url, body) {
    var res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    });
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error(data.error || button.dataset.failed);
    return data;
  }

  async function run() {
    button.disabled = true;
    say(button.dataset.working);
    try {
      var opts = (await post(button.dataset.begin)).publicKey;
      opts.challenge = toBytes(opts.challenge);
      var cred, out;
      if (button.dataset.mode === "create") {
        opts.user.id = toBytes(opts.user.id);
        opts.excludeCredentials = ids(opts.excludeCredentials);
        cred = await navigator.credentials.create({ publicKey: opts });
        out = {
          clientDataJSON: toB64(cred.response.clientDataJSON),
          attestationObject: toB64(cred.response.attestationObject),
          transports: cred.response.getTransports ? cred.response.getTransports() : []
        };
      } else {
        opts.allowCredentials = ids(opts.allowCredentials);
        cred = await navigator.credentials.get({ publicKey: opts });
        out = {
          clientDataJSON: toB64(cred.response.clientDataJSON),
          authenticatorData: toB64(cred.response.authenticatorData),
          signature: toB64(cred.response.signature),
          userHandle: cred.response.userHandle ? toB64(cred.response.userHandle) : null
        };
      }
      var done = await post(button.dataset.finish, {
        id: cred.id, rawId: toB64(cred.rawId), type: cred.type, response: out,
        clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
      });
      window.location.assign(done.redirect || "/");
    } catch (err) {
      var aborted = err && (err.name === "NotAllowedError" || err.name === "AbortError");
      say(aborted ? button.dataset.cancelled : (err && err.message) || button.dataset.failed);
      button.disabled = false;
      button.focus();
    }
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    say(button.dataset.unsupported);
    return;
  }
  button.hidden = false;
  button.addEventListener("click", run);
})();
