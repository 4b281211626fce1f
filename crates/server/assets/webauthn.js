// WebAuthn for the console: registering a security key and logging in with
// one. Served as a file (the Content-Security-Policy forbids inline scripts).
(function () {
  function b64urlToBuf(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), buf = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    return buf.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function credentialJson(c) {
    var r = c.response, out = { id: c.id, rawId: bufToB64url(c.rawId), type: c.type, extensions: {} };
    out.response = { clientDataJSON: bufToB64url(r.clientDataJSON) };
    if (r.attestationObject) out.response.attestationObject = bufToB64url(r.attestationObject);
    if (r.authenticatorData) out.response.authenticatorData = bufToB64url(r.authenticatorData);
    if (r.signature) out.response.signature = bufToB64url(r.signature);
    if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    return out;
  }
  async function post(url, body) {
    var res = await fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error((await res.json()).detail || res.statusText);
    return res.status === 204 ? null : res.json();
  }
  function status(el, text) { var s = document.getElementById(el); if (s) s.textContent = text; }

  var login = document.getElementById('webauthn-login');
  if (login) login.addEventListener('click', async function () {
    try {
      var ticket = login.dataset.ticket, csrf = login.dataset.csrf;
      var start = await post('/login/webauthn/start', { ticket: ticket, csrf: csrf });
      var o = start.options.publicKey;
      o.challenge = b64urlToBuf(o.challenge);
      (o.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
      var cred = await navigator.credentials.get({ publicKey: o });
      var done = await post('/login/webauthn/finish', { ticket: start.ticket, credential: credentialJson(cred), csrf: csrf });
      window.location = done.next;
    } catch (e) { status('webauthn-status', e.message); }
  });

  var register = document.getElementById('webauthn-register');
  if (register) register.addEventListener('click', async function () {
    try {
      var csrf = register.dataset.csrf;
      var start = await post('/portal/webauthn/start', { csrf: csrf });
      var o = start.options.publicKey;
      o.challenge = b64urlToBuf(o.challenge);
      o.user.id = b64urlToBuf(o.user.id);
      (o.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
      var cred = await navigator.credentials.create({ publicKey: o });
      var name = document.getElementById('webauthn-name').value || 'Security key';
      await post('/portal/webauthn/finish', { ticket: start.ticket, credential: credentialJson(cred), name: name, csrf: csrf });
      window.location.reload();
    } catch (e) { status('webauthn-status', e.message); }
  });
})();
