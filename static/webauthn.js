// Passkeys on Portcullis's pages (no library, no inline script).
//
// A form with data-webauthn="create" (add a passkey) or "get" (use one)
// and data-options="URL": on submit, the options are fetched (a POST with
// the form's CSRF token), the browser asks the person, and the answer is
// put in the form's hidden "handle" and "response" fields and submitted.
// A "get" form with data-conditional also offers the passkeys in the
// email field's autofill, where the browser supports it.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) {
    document.querySelectorAll("form[data-webauthn]").forEach(function (f) {
      showError(f, "This browser cannot use passkeys.");
      var b = f.querySelector("button[type=submit]");
      if (b) b.disabled = true;
    });
    return;
  }

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    if (pk.user && pk.user.id) pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return pk;
  }

  function encodeCredential(c) {
    var r = c.response, out = {
      id: c.id,
      rawId: toB64url(c.rawId),
      type: c.type,
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      out.response.userHandle = toB64url(r.userHandle);
    }
    return out;
  }

  function showError(form, msg) {
    var e = form.querySelector("[data-webauthn-error]");
    if (e) { e.textContent = msg; e.hidden = !msg; }
  }

  function fetchOptions(form) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    return fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body
    }).then(function (resp) {
      return resp.json().then(function (j) {
        if (!resp.ok) throw new Error(j.error || "The passkey request failed.");
        return j;
      });
    });
  }

  function finish(form, handle, cred) {
    form.querySelector("input[name=handle]").value = handle;
    form.querySelector("input[name=response]").value = JSON.stringify(encodeCredential(cred));
    form.submit();
  }

  var conditional = null;

  function run(form, mediation) {
    var kind = form.getAttribute("data-webauthn");
    return fetchOptions(form).then(function (j) {
      var opts = { publicKey: decodeOptions(j.options.publicKey) };
      if (kind === "create") return navigator.credentials.create(opts).then(function (c) { return [j.handle, c]; });
      if (mediation === "conditional") {
        conditional = new AbortController();
        opts.mediation = "conditional";
        opts.signal = conditional.signal;
      }
      return navigator.credentials.get(opts).then(function (c) { return [j.handle, c]; });
    }).then(function (pair) {
      if (pair[1]) finish(form, pair[0], pair[1]);
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.querySelector("input[name=response]").value) return;
      ev.preventDefault();
      var name = form.querySelector("input[name=name]");
      if (name && !name.value.trim()) { showError(form, "Give the passkey a name."); name.focus(); return; }
      if (conditional) { conditional.abort(); conditional = null; }
      showError(form, "");
      run(form, "modal").catch(function (e) {
        if (e && e.name === "NotAllowedError") showError(form, "The passkey request was cancelled or timed out. Try again.");
        else if (e && e.name === "InvalidStateError") showError(form, "This device already has a passkey for your account.");
        else showError(form, (e && e.message) || "The passkey request failed.");
      });
    });
    if (form.hasAttribute("data-conditional") && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) run(form, "conditional").catch(function () { /* the person typed a password instead */ });
      });
    }
  });
})();
