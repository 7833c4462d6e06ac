/**
 * The API reference page at /api/docs: one self-contained HTML file (inline style and script, no
 * CDN, nothing fetched but /api/v1/openapi.json) that lists every operation of the document and
 * lets you try it against this server with your access token.
 */
import { OPENAPI_PATH } from "./document.ts";

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0;flex:1}
header input{width:360px;max-width:90vw;padding:6px;border-radius:4px;border:0}
main{max-width:980px;margin:0 auto;padding:16px}
h2{text-transform:capitalize;margin:28px 0 8px}
details{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:8px 0}
summary{padding:10px 12px;cursor:pointer;display:flex;gap:10px;align-items:baseline}
.m{font:bold 12px monospace;padding:2px 6px;border-radius:3px;color:#fff;min-width:44px;text-align:center}
.get{background:#2f7d32}.post{background:#1565c0}.put,.patch{background:#ef6c00}.delete{background:#c62828}
code,.p{font-family:ui-monospace,monospace}
.op{padding:0 14px 14px}
label{display:block;margin:6px 0 2px;font-size:13px;color:#555}
input.f,textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;padding:6px}
textarea{min-height:90px}
button{margin-top:8px;padding:6px 14px;border:0;border-radius:4px;background:#1565c0;color:#fff;cursor:pointer}
pre{background:#1d2330;color:#e8eaf0;padding:10px;border-radius:4px;overflow:auto;max-height:360px}
table{border-collapse:collapse;font-size:13px}td{padding:2px 10px 2px 0;vertical-align:top}
`;

const SCRIPT = `
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "class" ? (node.className = v) : node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
};
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("switchboard.docs.token") ?? "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("switchboard.docs.token", tokenInput.value.trim()));

function example(schema, doc, depth = 0) {
  if (!schema || depth > 4) return null;
  if (schema.$ref) return example(doc.components.schemas[schema.$ref.split("/").pop()], doc, depth + 1);
  if (schema.oneOf) return example(schema.oneOf[0], doc, depth + 1);
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.type === "object") {
    const out = {};
    for (const name of schema.required ?? Object.keys(schema.properties ?? {})) out[name] = example(schema.properties?.[name], doc, depth + 1);
    return out;
  }
  if (schema.type === "integer") return schema.minimum ?? 1;
  if (schema.type === "array") return [];
  return schema.format === "email" ? "agent@demo.local" : "";
}

function operation(path, method, op, doc) {
  const fields = [];
  const form = el("div", { class: "op" });
  if (op.description) form.append(el("p", {}, op.description));
  for (const p of op.parameters ?? []) {
    const input = el("input", { class: "f", placeholder: p.schema?.description ?? p.schema?.type ?? "" });
    fields.push([p, input]);
    form.append(el("label", {}, p.name + " (" + p.in + (p.required ? ", required" : "") + ")"), input);
  }
  let body = null;
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
  if (bodySchema) {
    body = el("textarea", {});
    body.value = JSON.stringify(example(bodySchema, doc), null, 2);
    form.append(el("label", {}, "JSON body"), body);
  }
  const codes = el("table", {});
  for (const [status, r] of Object.entries(op.responses)) codes.append(el("tr", {}, el("td", { class: "p" }, status), el("td", {}, r.description)));
  const out = el("pre", { hidden: "" });
  const send = el("button", { type: "button" }, "Send");
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [p, input] of fields) {
      if (input.value === "") continue;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(input.value));
      else if (p.in === "header") headers[p.name] = input.value;
      else query.set(p.name, input.value);
    }
    if (tokenInput.value.trim()) headers.authorization = "Bearer " + tokenInput.value.trim();
    if (body) headers["content-type"] = "application/json";
    out.hidden = false;
    out.textContent = "…";
    try {
      const res = await fetch(url + (query.size ? "?" + query : ""), { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
      out.textContent = res.status + " " + res.statusText + "\\n\\n" + shown;
      if (op.operationId === "login" && res.ok) { tokenInput.value = JSON.parse(text).access_token; tokenInput.dispatchEvent(new Event("change")); }
    } catch (err) { out.textContent = String(err); }
  });
  form.append(el("label", {}, "Answers"), codes, send, out);
  return el("details", { "data-operation": op.operationId },
    el("summary", {}, el("span", { class: "m " + method }, method.toUpperCase()), el("span", { class: "p" }, path), el("span", {}, op.summary + (op.security?.length ? " 🔒" : ""))),
    form);
}

fetch(${JSON.stringify(OPENAPI_PATH)}).then((r) => r.json()).then((doc) => {
  const main = document.querySelector("main");
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  main.append(el("p", {}, doc.info.description));
  for (const tag of doc.tags) {
    main.append(el("h2", {}, tag.name));
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item)) if (op.tags?.includes(tag.name)) main.append(operation(path, method, op, doc));
  }
});
`;

export const API_DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard API reference</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">Switchboard API</h1>
<label style="color:#fff">Access token <input id="token" placeholder="paste a token, or log in below"></label>
<a style="color:#9ecbff" href="${OPENAPI_PATH}">openapi.json</a></header>
<main></main>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;
