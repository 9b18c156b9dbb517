// API documentation page: loads the OpenAPI 3.1 description named by
// <body data-spec-url>, renders it with createElement and textContent only,
// and lets the reader try each operation. The bearer token lives in one
// variable of this closure: never in storage, a cookie or a URL.
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
  const SHOWN_HEADERS = ["Content-Type", "ETag", "Location", "Retry-After", "WWW-Authenticate"];
  const MAX_DEPTH = 12;
  let token = "";
  let spec = null;

  const $ = (id) => document.getElementById(id);
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

  // el builds an element. Attributes are set with setAttribute ("class"
  // sets className; null, undefined and false are left out); children are
  // nodes, or anything else as text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function slug(s) {
    return String(s).replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "").toLowerCase() || "x";
  }

  function uniqueId(base, taken) {
    let id = slug(base);
    for (let i = 2; taken.has(id); i++) id = slug(base) + "-" + i;
    taken.add(id);
    return id;
  }

  // lookup returns what a local JSON pointer ("#/components/schemas/X")
  // names in the description, or null.
  function lookup(ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return null;
    let cur = spec;
    for (const raw of ref.slice(2).split("/")) {
      let key;
      try {
        key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      } catch {
        return null;
      }
      if (!isObject(cur) && !Array.isArray(cur)) return null;
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return null;
      cur = cur[key];
    }
    return cur;
  }

  // deref follows "$ref" on parameters, bodies and responses.
  function deref(obj) {
    for (let i = 0; i < 16 && isObject(obj) && typeof obj.$ref === "string"; i++) {
      const target = lookup(obj.$ref);
      if (!isObject(target)) return obj;
      obj = target;
    }
    return obj;
  }

  const refName = (ref) => String(ref).split("/").pop();

  // follow resolves a schema's "$ref" (keeping any sibling keywords, as 3.1
  // allows) and returns [schema, refs seen on the way]; the set is null if
  // the reference loops back on one being shown.
  function follow(schema, seen) {
    if (!isObject(schema)) return [{}, seen];
    if (typeof schema.$ref !== "string") return [schema, seen];
    if (seen.has(schema.$ref)) return [schema, null];
    const target = lookup(schema.$ref);
    if (!isObject(target)) return [schema, seen];
    const next = new Set(seen).add(schema.$ref);
    const { $ref, ...siblings } = schema;
    return follow({ ...target, ...siblings }, next);
  }

  function typeLabel(s) {
    if (!isObject(s)) return "any";
    if (typeof s.$ref === "string") return refName(s.$ref);
    const one = (t) => (t === "array" ? "array of " + (isObject(s.items) ? typeLabel(s.items) : "any") : String(t));
    let t;
    if (Array.isArray(s.type)) t = s.type.map(one).join(" | ");
    else if (s.type) t = one(s.type);
    else if (s.properties) t = "object";
    else if (s.items) t = one("array");
    else t = ["oneOf", "anyOf", "allOf"].find((k) => Array.isArray(s[k])) || (s.enum ? "enum" : "any");
    return s.format ? t + " (" + s.format + ")" : t;
  }

  function constraints(s) {
    const out = [];
    const json = (v) => JSON.stringify(v);
    const add = (key, label, fmt) => {
      if (s[key] !== undefined) out.push(label + " " + (fmt || json)(s[key]));
    };
    if (Array.isArray(s.enum)) out.push("one of " + s.enum.map(json).join(", "));
    add("const", "=");
    add("default", "default");
    add("minimum", "≥");
    add("exclusiveMinimum", ">");
    add("maximum", "≤");
    add("exclusiveMaximum", "<");
    add("minLength", "min length");
    add("maxLength", "max length");
    add("pattern", "pattern", String);
    add("minItems", "min items");
    add("maxItems", "max items");
    if (Array.isArray(s.examples) && s.examples.length) out.push("example " + json(s.examples[0]));
    for (const flag of ["readOnly", "writeOnly", "deprecated"]) if (s[flag] === true) out.push(flag);
    return out;
  }

  // schemaRow renders one schema, named or not, with its type,
  // constraints, description and what it holds.
  function schemaRow(name, schema, required, seen, depth) {
    const [s, inner] = follow(schema, seen);
    const head = el("div", { class: "prop" },
      name === null ? null : el("code", { class: "prop-name" }, name),
      el("span", { class: "type" }, typeLabel(schema)),
      required ? el("span", { class: "required" }, "required") : null,
      constraints(s).map((c) => el("span", { class: "constraint" }, c)));
    const li = el("li", {}, head);
    if (typeof s.description === "string") li.append(el("p", { class: "description" }, s.description));
    if (inner === null) li.append(el("p", { class: "note" }, "(recursive: " + refName(schema.$ref) + " is shown above)"));
    else li.append(schemaBody(s, inner, depth + 1) || "");
    return li;
  }

  // schemaBody renders what an object, array or combination holds, or
  // returns null for a scalar.
  function schemaBody(s, seen, depth) {
    if (depth > MAX_DEPTH) return el("p", { class: "note" }, "(nested too deeply to show)");
    const rows = [];
    const required = new Set(Array.isArray(s.required) ? s.required : []);
    if (isObject(s.properties)) {
      for (const [k, v] of Object.entries(s.properties)) rows.push(schemaRow(k, v, required.has(k), seen, depth));
    }
    if (isObject(s.additionalProperties)) rows.push(schemaRow("{any name}", s.additionalProperties, false, seen, depth));
    if (isObject(s.items)) {
      const [item] = follow(s.items, seen);
      if (schemaHolds(item)) rows.push(schemaRow("[item]", s.items, false, seen, depth));
    }
    for (const k of ["allOf", "oneOf", "anyOf"]) {
      if (Array.isArray(s[k])) s[k].forEach((v, i) => rows.push(schemaRow(k + " #" + (i + 1), v, false, seen, depth)));
    }
    return rows.length ? el("ul", { class: "schema" }, rows) : null;
  }

  const schemaHolds = (s) =>
    ["properties", "additionalProperties", "items", "allOf", "oneOf", "anyOf"].some((k) => isObject(s[k]) || Array.isArray(s[k]));

  const schemaTree = (schema) => el("ul", { class: "schema root" }, schemaRow(null, schema, false, new Set(), 0));

  // example makes a value of the schema's shape for the body textarea,
  // leaving out read-only properties such as huma's "$schema".
  function example(schema, seen, depth) {
    const [s, inner] = follow(schema, seen);
    if (inner === null || depth > MAX_DEPTH) return null;
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    for (const k of ["example", "default", "const"]) if (s[k] !== undefined) return s[k];
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    for (const k of ["oneOf", "anyOf", "allOf"]) if (Array.isArray(s[k]) && s[k].length) return example(s[k][0], inner, depth + 1);
    let t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") || "null" : s.type;
    if (!t) t = s.properties ? "object" : s.items ? "array" : "";
    switch (t) {
      case "object": {
        const o = {};
        for (const [k, v] of Object.entries(isObject(s.properties) ? s.properties : {})) {
          if (follow(v, inner)[0].readOnly !== true) o[k] = example(v, inner, depth + 1);
        }
        return o;
      }
      case "array": return isObject(s.items) ? [example(s.items, inner, depth + 1)] : [];
      case "string": return { "date-time": "2025-01-01T00:00:00Z", date: "2025-01-01", uuid: "00000000-0000-0000-0000-000000000000" }[s.format] || "string";
      case "integer": case "number": return typeof s.minimum === "number" ? s.minimum : 0;
      case "boolean": return false;
      default: return null;
    }
  }

  function bodyExample(rb) {
    const media = isObject(rb.content) ? rb.content["application/json"] || Object.values(rb.content)[0] : null;
    if (!isObject(media)) return "";
    if (media.example !== undefined) return JSON.stringify(media.example, null, 2);
    if (isObject(media.examples)) {
      const first = deref(Object.values(media.examples)[0]);
      if (isObject(first) && first.value !== undefined) return JSON.stringify(first.value, null, 2);
    }
    return isObject(media.schema) ? JSON.stringify(example(media.schema, new Set(), 0), null, 2) : "";
  }

  // operations lists every operation with its path-level and own
  // parameters merged (its own win).
  function operations() {
    const ops = [];
    for (const [path, raw] of Object.entries(isObject(spec.paths) ? spec.paths : {})) {
      const item = deref(raw);
      if (!isObject(item)) continue;
      for (const m of METHODS) {
        if (!isObject(item[m])) continue;
        const params = new Map();
        for (const list of [item.parameters, item[m].parameters]) {
          for (const p of Array.isArray(list) ? list.map(deref) : []) {
            if (isObject(p) && p.name && p.in) params.set(p.in + ":" + p.name, p);
          }
        }
        ops.push({ method: m.toUpperCase(), path, op: item[m], params: [...params.values()] });
      }
    }
    return ops;
  }

  // groupOf is an operation's first tag or else its path prefix:
  // "/v1/collections" for "/v1/collections/{c}/records".
  function groupOf(o) {
    if (Array.isArray(o.op.tags) && o.op.tags.length) return String(o.op.tags[0]);
    const fixed = [];
    for (const seg of o.path.split("/").filter(Boolean)) {
      if (seg.startsWith("{")) break;
      fixed.push(seg);
      if (!/^v\d+$/.test(seg)) break;
    }
    return "/" + fixed.join("/");
  }

  // breakable lets a long path wrap before each "/".
  const breakable = (path) => path.split("/").flatMap((seg, i) => (i ? [el("wbr"), "/" + seg] : [seg]));

  const badge = (method) => el("span", { class: "badge method-" + method.toLowerCase() }, method);

  function paramsTable(params) {
    const rows = params.map((p) => {
      const schema = isObject(p.schema) ? p.schema : {};
      const [s] = follow(schema, new Set());
      return el("tr", {},
        el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "required" }, "required") : null),
        el("td", {}, String(p.in)),
        el("td", {}, el("span", { class: "type" }, typeLabel(schema)), constraints(s).map((c) => el("span", { class: "constraint" }, c))),
        el("td", {}, typeof p.description === "string" ? p.description : s.description || ""));
    });
    const head = el("tr", {}, ["Name", "In", "Type", "Description"].map((h) => el("th", { scope: "col" }, h)));
    return el("table", { class: "params" }, el("thead", {}, head), el("tbody", {}, rows));
  }

  // contentEl shows each media type's schema; folded, for error responses
  // that all share one shape.
  function contentEl(content, folded) {
    if (!isObject(content)) return null;
    return el("div", { class: "content" }, Object.entries(content).map(([type, media]) => {
      const schema = isObject(media) && isObject(media.schema) ? media.schema : null;
      if (!schema) return el("p", { class: "media-type" }, el("code", {}, type));
      if (folded) return el("details", { class: "media-type" }, el("summary", {}, el("code", {}, type), " ", typeLabel(schema)), schemaTree(schema));
      return [el("p", { class: "media-type" }, el("code", {}, type)), schemaTree(schema)];
    }));
  }

  function responsesEl(responses) {
    return el("div", { class: "responses" }, Object.entries(isObject(responses) ? responses : {}).map(([code, raw]) => {
      const r = deref(raw) || {};
      const kind = code === "default" ? "default" : code[0] === "2" ? "ok" : code[0] === "3" ? "redirect" : "err";
      const headers = isObject(r.headers) ? Object.keys(r.headers) : [];
      return el("div", { class: "response", "data-status": code },
        el("h4", {}, el("span", { class: "status status-" + kind }, code), " ", r.description || ""),
        headers.length ? el("p", { class: "note" }, "Headers: ", headers.map((h, i) => [i ? ", " : "", el("code", {}, h)])) : null,
        contentEl(r.content, kind === "err" || kind === "default"));
    }));
  }

  function operationEl(o, id) {
    const op = o.op;
    const rb = deref(op.requestBody);
    return el("details", { class: "operation", id, "data-method": o.method, "data-path": o.path },
      el("summary", {}, badge(o.method), el("code", { class: "path" }, breakable(o.path)),
        op.summary ? el("span", { class: "summary" }, op.summary) : null,
        op.deprecated === true ? el("span", { class: "deprecated" }, "deprecated") : null),
      el("div", { class: "op-body" },
        typeof op.description === "string" ? el("p", { class: "description" }, op.description) : null,
        op.operationId ? el("p", { class: "note" }, "Operation ID: ", el("code", {}, op.operationId)) : null,
        o.params.length ? [el("h3", {}, "Parameters"), paramsTable(o.params)] : null,
        isObject(rb) ? [el("h3", {}, "Request body", rb.required ? el("span", { class: "required" }, "required") : null),
          rb.description ? el("p", { class: "description" }, rb.description) : null, contentEl(rb.content)] : null,
        el("h3", {}, "Responses"), responsesEl(op.responses),
        tryForm(o, id, rb)));
  }

  // tryForm is the "Try it" form: an input per path, query and header
  // parameter, a JSON body, and Send.
  function tryForm(o, id, rb) {
    const fields = el("div", { class: "fields" });
    const inputs = [];
    for (const p of o.params) {
      if (!["path", "query", "header"].includes(p.in)) continue;
      const fid = id + "-" + p.in + "-" + slug(p.name);
      const input = el("input", { id: fid, name: p.name, type: "text", autocomplete: "off", spellcheck: "false",
        "data-in": p.in, placeholder: typeLabel(p.schema) });
      fields.append(el("label", { for: fid }, p.name, el("span", { class: "in" }, " " + p.in + (p.in === "path" || p.required ? ", required" : ""))), input);
      inputs.push({ p, input });
    }
    let body = null;
    if (isObject(rb)) {
      body = el("textarea", { id: id + "-body", name: "body", rows: 8, spellcheck: "false", class: "body" });
      body.value = bodyExample(rb);
      fields.append(el("label", { for: id + "-body" }, "Body ", el("span", { class: "in" }, "JSON")), body);
    }
    const button = el("button", { type: "submit", class: "send" }, "Send");
    const out = el("div", { class: "response-out", "aria-live": "polite" });
    const form = el("form", { class: "try", novalidate: true, "aria-label": "Try " + o.method + " " + o.path },
      el("h3", {}, "Try it"), fields, button, out);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      send(o, inputs, body, out, button);
    });
    return form;
  }

  function fail(out, msg) {
    out.replaceChildren(el("p", { class: "response-status status-err", role: "alert" }, msg));
  }

  // base is the path of the first server if it is on this origin.
  function base() {
    const url = Array.isArray(spec.servers) && isObject(spec.servers[0]) ? spec.servers[0].url : null;
    if (typeof url !== "string") return "";
    try {
      const u = new URL(url, location.href);
      if (u.origin === location.origin) return u.pathname.replace(/\/+$/, "");
    } catch {
      // not a URL: ignore it
    }
    return "";
  }

  async function send(o, inputs, body, out, button) {
    out.replaceChildren();
    let path = o.path;
    const query = new URLSearchParams();
    const headers = new Headers({ Accept: "application/json, application/problem+json" });
    try {
      for (const { p, input } of inputs) {
        const v = input.value;
        if (v === "") {
          if (p.in === "path" || p.required) return fail(out, "Fill in “" + p.name + "”: it is required.");
          continue;
        }
        if (p.in === "path") path = path.split("{" + p.name + "}").join(encodeURIComponent(v));
        else if (p.in === "query") query.append(p.name, v);
        else headers.set(p.name, v);
      }
      if (token) headers.set("Authorization", "Bearer " + token);
    } catch (e) {
      return fail(out, "Cannot send that header: " + e.message);
    }
    const init = { method: o.method, headers, cache: "no-store", credentials: "same-origin" };
    if (body && body.value.trim() !== "") {
      try {
        JSON.parse(body.value);
      } catch (e) {
        return fail(out, "The body is not valid JSON: " + e.message);
      }
      init.body = body.value;
      headers.set("Content-Type", "application/json");
    }
    const qs = query.toString();
    const url = base() + path + (qs ? "?" + qs : "");
    button.disabled = true;
    const start = performance.now();
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      showResponse(out, o.method + " " + url, res, text, performance.now() - start);
    } catch (e) {
      fail(out, "The request failed: " + e.message);
    } finally {
      button.disabled = false;
    }
  }

  function showResponse(out, what, res, text, ms) {
    const dl = el("dl", { class: "response-headers" });
    for (const h of SHOWN_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) dl.append(el("dt", {}, h), el("dd", {}, v));
    }
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: shown as it came
    }
    out.replaceChildren(
      el("p", { class: "response-status status-" + (res.ok ? "ok" : "err"), "data-status": res.status },
        what + " → " + res.status + " " + res.statusText + " (" + Math.round(ms) + " ms)"),
      dl.childElementCount ? dl : null,
      el("pre", { class: "response-body", tabindex: 0 }, pretty || "(empty body)"));
  }

  function render() {
    const info = isObject(spec.info) ? spec.info : {};
    const title = String(info.title || "API");
    document.title = title + " — API documentation";
    $("title").textContent = title;
    $("version").textContent = info.version ? "version " + info.version : "";
    $("description").textContent = typeof info.description === "string" ? info.description : "";

    const ops = operations();
    const groups = new Map();
    const tagInfo = new Map();
    for (const t of Array.isArray(spec.tags) ? spec.tags : []) {
      if (!isObject(t) || !t.name) continue;
      groups.set(String(t.name), []);
      tagInfo.set(String(t.name), t.description);
    }
    for (const o of ops) {
      const g = groupOf(o);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(o);
    }
    const taken = new Set();
    const toc = el("ul");
    const sections = [];
    for (const [name, members] of groups) {
      if (!members.length) continue;
      const gid = uniqueId("group-" + name, taken);
      const links = el("ul");
      const sec = el("section", { class: "group", "aria-labelledby": gid }, el("h2", { id: gid }, name),
        typeof tagInfo.get(name) === "string" ? el("p", { class: "description" }, tagInfo.get(name)) : null);
      for (const o of members) {
        const id = uniqueId("op-" + o.method + "-" + o.path, taken);
        sec.append(operationEl(o, id));
        links.append(el("li", {}, el("a", { href: "#" + id }, badge(o.method), " ", breakable(o.path))));
      }
      toc.append(el("li", {}, el("a", { href: "#" + gid }, name), links));
      sections.push(sec);
    }
    $("toc").replaceChildren(toc);
    $("operations").replaceChildren(...sections);
    const count = $("op-count");
    count.textContent = ops.length + (ops.length === 1 ? " operation" : " operations");
    count.dataset.count = String(ops.length);
    $("toolbar").hidden = ops.length === 0;
    openFromHash();
    document.body.dataset.ready = "true";
  }

  function openFromHash() {
    let target = null;
    try {
      target = location.hash.length > 1 ? $(decodeURIComponent(location.hash.slice(1))) : null;
    } catch {
      return;
    }
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView();
    }
  }

  function showError(msg) {
    const e = $("error");
    e.textContent = msg;
    e.hidden = false;
  }

  async function load() {
    const url = document.body.dataset.specUrl;
    $("error").hidden = true;
    $("loading").hidden = false;
    delete document.body.dataset.ready;
    try {
      if (!url) throw new Error("no description URL is set");
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      const res = await fetch(url, { headers, cache: "no-store", credentials: "same-origin" });
      if (!res.ok) {
        const hint = res.status === 401 || res.status === 403 ? " (enter a bearer token above and press Reload)" : "";
        throw new Error("GET " + url + " answered " + res.status + " " + res.statusText + hint);
      }
      const doc = await res.json().catch((e) => {
        throw new Error(url + " is not JSON: " + e.message);
      });
      if (!isObject(doc) || typeof doc.openapi !== "string" || !isObject(doc.paths)) {
        throw new Error(url + " is not an OpenAPI description");
      }
      spec = doc;
      render();
    } catch (e) {
      showError("Could not load the API description: " + e.message);
    } finally {
      $("loading").hidden = true;
    }
  }

  function setAll(open) {
    for (const d of document.querySelectorAll("details.operation")) d.open = open;
  }

  // Counted so that a test can see that nothing on the page was blocked.
  document.addEventListener("securitypolicyviolation", (e) => {
    document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations || 0) + 1);
    console.warn("blocked by the Content-Security-Policy:", e.violatedDirective, e.blockedURI);
  });

  function start() {
    const input = $("token");
    input.value = "";
    input.addEventListener("input", () => {
      token = input.value.trim();
    });
    $("token-clear").addEventListener("click", () => {
      input.value = "";
      token = "";
    });
    $("reload").addEventListener("click", load);
    $("expand-all").addEventListener("click", () => setAll(true));
    $("collapse-all").addEventListener("click", () => setAll(false));
    window.addEventListener("hashchange", openFromHash);
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
