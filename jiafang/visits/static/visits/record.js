/* The record form's draft (issue 3 pt 6): saved to the server every few seconds when it changed;
   while the server cannot be reached the latest state is kept in localStorage, ENCRYPTED with
   AES-GCM under the per-user-and-visit key the server put in data-draft-key (SECURITY.md F11:
   no readable student data in browser storage). On the next open the copy is decrypted, put
   back into the form and saved to the server; it is removed after a successful save or submit.
   The page works without this file (plain POST). */
(function () {
  "use strict";
  var form = document.getElementById("record-form");
  if (!form || !window.crypto || !window.crypto.subtle || !window.fetch) return;
  var INTERVAL = 5000;
  var MULTI = { contents: true, into_family: true };
  var SKIP = { csrfmiddlewaretoken: true, record_version: true };
  var url = form.dataset.draftUrl, storage = form.dataset.storage;
  var status = form.querySelector(".draft-status");
  var csrf = (form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  var lastSaved = null, saving = false, keyPromise = null;

  function say(text) { if (status) status.textContent = text; }

  function b64decode(text) {
    text = text.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) text += "=";
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function b64encode(bytes) {
    var s = "";
    bytes = new Uint8Array(bytes);
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function key() {
    if (!keyPromise) {
      keyPromise = crypto.subtle.importKey("raw", b64decode(form.dataset.draftKey),
                                           { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    }
    return keyPromise;
  }

  function serialize() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "submit" || el.type === "button") return;
      if (MULTI[el.name]) {
        data[el.name] = data[el.name] || [];
        if (el.checked) data[el.name].push(el.value);
      } else if (el.type === "checkbox") {
        if (el.checked) data[el.name] = "on"; else if (!(el.name in data)) data[el.name] = "";
      } else if (el.type === "radio") {
        if (el.checked) data[el.name] = el.value; else if (!(el.name in data)) data[el.name] = "";
      } else {
        data[el.name] = el.value;
      }
    });
    return data;
  }

  function restore(data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || !(el.name in data)) return;
      var value = data[el.name];
      if (MULTI[el.name]) el.checked = Array.isArray(value) && value.indexOf(el.value) >= 0;
      else if (el.type === "checkbox") el.checked = value === "on";
      else if (el.type === "radio") el.checked = value === el.value;
      else if (el.type !== "submit" && el.type !== "button") el.value = value;
    });
  }

  function keepLocally(data) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify(data));
    return key().then(function (k) {
      return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, k, plain);
    }).then(function (cipher) {
      localStorage.setItem(storage, JSON.stringify({ v: 1, iv: b64encode(iv), ct: b64encode(cipher) }));
    }).catch(function () {});
  }

  function readLocal() {
    var stored = localStorage.getItem(storage);
    if (!stored) return Promise.resolve(null);
    var box;
    try { box = JSON.parse(stored); } catch (e) { localStorage.removeItem(storage); return Promise.resolve(null); }
    return key().then(function (k) {
      return crypto.subtle.decrypt({ name: "AES-GCM", iv: b64decode(box.iv) }, k, b64decode(box.ct));
    }).then(function (plain) {
      return JSON.parse(new TextDecoder().decode(plain));
    }).catch(function () { localStorage.removeItem(storage); return null; });
  }

  function save() {
    var data = serialize(), text = JSON.stringify(data);
    if (saving || text === lastSaved) return Promise.resolve();
    saving = true;
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ data: data })
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      lastSaved = text;
      if (JSON.stringify(serialize()) === text) localStorage.removeItem(storage);
      say(form.dataset.savedText || "草稿已保存 " + new Date().toLocaleTimeString());
    }).catch(function () {
      say("网络不通，草稿已加密暂存在本机，联网后自动保存。");
      return keepLocally(data);
    }).then(function () { saving = false; });
  }

  var pending = null;
  form.addEventListener("input", function () {
    clearTimeout(pending);
    // keep an encrypted copy of every change until the server has it (closed tab, lost network)
    pending = setTimeout(function () {
      if (JSON.stringify(serialize()) !== lastSaved) keepLocally(serialize());
    }, 300);
  });
  form.addEventListener("change", function () { form.dispatchEvent(new Event("input")); });
  form.addEventListener("submit", function () { clearTimeout(pending); localStorage.removeItem(storage); });

  lastSaved = JSON.stringify(serialize());  // what the server rendered (its draft or defaults)
  readLocal().then(function (data) {
    if (data) {
      restore(data);
      say("已恢复本机暂存的草稿。");
      return save();
    }
  }).then(function () { setInterval(save, INTERVAL); });
})();
