// Reclaim dashboard: plain JavaScript over the HTTP API. The token lives in sessionStorage (this tab only).
"use strict";
const $ = (id) => document.getElementById(id);
const tokenKey = "reclaim.token";
let selectedRun = null;
// Who is signed in and what the role may do (GET /api/v1/me); the page shows only what the role can do.
let me = null;

function bytes(n) {
  if (n == null) return "";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(tokenKey) };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error((body && (body.detail || body.title)) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

async function signIn(event) {
  event?.preventDefault();
  const token = $("token").value.trim() || sessionStorage.getItem(tokenKey);
  if (!token) return;
  sessionStorage.setItem(tokenKey, token);
  try {
    me = await api("/api/v1/me");
  } catch (e) {
    sessionStorage.removeItem(tokenKey);
    $("sign-in-error").textContent = e.status === 401 ? "That token is not accepted: " + e.message : e.message;
    return;
  }
  if (!me.can.read) {
    sessionStorage.removeItem(tokenKey);
    const why = me.description.charAt(0).toUpperCase() + me.description.slice(1);
    $("sign-in-error").textContent = `${why}. The dashboard needs the viewer role or higher.`;
    return;
  }
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  showWho();
  await refresh();
}

function showWho() {
  const who = $("who");
  const how = me.via === "jwt" ? `JWT, application role ${me.application_roles.join(", ") || "none"}` : "API key";
  who.replaceChildren(document.createTextNode(`Signed in as ${me.name} (${how})`));
  const role = document.createElement("span");
  role.className = "role";
  role.textContent = me.role;
  who.appendChild(role);
  who.dataset.role = me.role;
  who.title = me.description;
  // Hide what the role cannot do: the server refuses it anyway (403), the page does not offer it.
  $("run-section").hidden = !me.can.dry_run;
  $("real-run").hidden = !me.can.run;
  $("role-note").textContent = me.can.run ? "" : `Your role (${me.role}) may start dry runs; a real run needs admin.`;
}

function signOut() {
  sessionStorage.removeItem(tokenKey);
  location.reload();
}

async function refresh() {
  await Promise.all([loadStores(), loadTenants(), loadRuns(), loadQueue(), loadReclaimed(), loadSchedule()]);
}

function age(seconds) {
  if (seconds == null) return "";
  if (seconds >= 86400) return (seconds / 86400).toFixed(1) + " d";
  if (seconds >= 3600) return (seconds / 3600).toFixed(1) + " h";
  if (seconds >= 60) return Math.round(seconds / 60) + " min";
  return seconds + " s";
}

function money(amount) {
  return amount == null ? "" : amount.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

async function loadStores() {
  const tbody = $("stores").querySelector("tbody");
  try {
    const [usage, status] = await Promise.all([api("/api/v1/usage"), api("/api/v1/status").catch(() => null)]);
    const reclaimable = {};
    for (const p of status?.policies ?? []) reclaimable[p.store] = (reclaimable[p.store] ?? 0) + p.totals.bytes_reclaimable;
    tbody.replaceChildren();
    for (const s of usage.stores) {
      const row = tbody.insertRow();
      row.dataset.store = s.store;
      cell(row, s.store);
      cell(row, s.objects.toLocaleString(), "num objects");
      cell(row, bytes(s.bytes), "num bytes");
      cell(row, status ? bytes(reclaimable[s.store] ?? 0) : "?", "num reclaimable");
      cell(row, `${s.trash_objects} (${bytes(s.trash_bytes)})`, "num");
      cell(row, money(s.cost_per_month), "num cost");
    }
    showCosts(usage, status);
  } catch (e) {
    tbody.replaceChildren();
    cell(tbody.insertRow(), e.message, "error");
  }
}

// Stores that name their provider: $/month now, and per policy of the dry run what deleting saves now and only once
// its objects pass the provider's minimum storage duration, what the sweep's requests cost, and the plan's cost warnings
// (each quarantine copy starting a new minimum) — the plan's own figures (GET /api/v1/status, "cost" per policy).
function showCosts(usage, status) {
  const tbody = $("costs").querySelector("tbody");
  const warnings = $("cost-warnings");
  tbody.replaceChildren();
  warnings.replaceChildren();
  const priced = usage.stores.filter((s) => s.provider != null);
  $("cost-section").hidden = priced.length === 0;
  for (const s of priced) {
    const policies = (status?.policies ?? []).filter((p) => p.store === s.store && p.cost);
    for (const p of policies.length ? policies : [null]) {
      const row = tbody.insertRow();
      row.dataset.store = s.store;
      if (p) row.dataset.policy = p.policy;
      cell(row, s.store);
      cell(row, s.provider, "provider");
      cell(row, money(s.cost_per_month), "num cost-now");
      cell(row, p ? p.policy : (status ? "no policy proposes anything" : "?"));
      if (!p) continue;
      const c = p.cost;
      cell(row, `${money(c.saving_now_per_month)} (${bytes(c.bytes_saving_now)})`, "num saves-now");
      cell(row, `${money(c.saving_later_per_month)} (${bytes(c.bytes_saving_later)})`, "num saves-later");
      cell(row, c.saves_from ? c.saves_from.slice(0, 10) + (c.saves_all_from && c.saves_all_from !== c.saves_from ? " … " + c.saves_all_from.slice(0, 10) : "") : "", "saves-from");
      cell(row, money(c.request_cost), "num requests");
      for (const w of p.cost_warnings ?? []) {
        const item = document.createElement("li");
        item.className = "error cost-warning";
        item.textContent = `${p.policy}: ${w}`;
        warnings.appendChild(item);
      }
    }
  }
}

// The values of a layout variable (the tenant: org, customer...) whose groups hold the most reclaimable bytes.
async function loadTenants() {
  const tbody = $("tenants").querySelector("tbody");
  const select = $("tenants-by");
  try {
    const chosen = select.value ? "&by=" + encodeURIComponent(select.value) : "";
    const view = await api("/api/v1/usage/tenants?limit=10" + chosen);
    $("tenants-section").hidden = view.by == null;
    if (view.by == null) return;
    select.replaceChildren(...view.variables.map((v) => new Option(v, v, false, v === view.by)));
    $("tenants-value").textContent = view.by;
    tbody.replaceChildren();
    for (const t of view.rows) {
      const row = tbody.insertRow();
      row.dataset.tenant = t.value;
      cell(row, t.value, "key");
      cell(row, t.policy);
      cell(row, t.objects.toLocaleString(), "num");
      cell(row, bytes(t.bytes), "num");
      cell(row, bytes(t.referenced_bytes), "num");
      cell(row, bytes(t.reclaimable_bytes), "num reclaimable");
      cell(row, money(t.saving_per_month), "num");
    }
    for (const w of view.warnings) cell(tbody.insertRow(), w, "error");
  } catch (e) {
    tbody.replaceChildren();
    cell(tbody.insertRow(), e.message, "error");
  }
}

async function loadRuns() {
  const runs = await api("/api/v1/runs?limit=50");
  const tbody = $("runs").querySelector("tbody");
  tbody.replaceChildren();
  for (const r of runs) {
    const row = tbody.insertRow();
    row.dataset.run = r.id;
    cell(row, r.id, "key run-id");
    cell(row, r.kind + (r.dry_run ? " (dry)" : ""));
    cell(row, r.status, r.status);
    cell(row, r.actor);
    cell(row, r.policies.join(", "));
    cell(row, r.summary?.objects_done ?? "", "num");
    cell(row, bytes(r.summary?.bytes_done), "num");
    const open = document.createElement("button");
    open.textContent = "Actions";
    open.addEventListener("click", () => showRun(r.id));
    row.insertCell().appendChild(open);
  }
}

async function loadQueue() {
  const tbody = $("queue").querySelector("tbody");
  try {
    const view = await api("/api/v1/queue");
    $("queue-worker").textContent = view.worker
      ? "This server's worker drains these queues."
      : "This server runs no worker (reclaim serve --no-worker): reclaim worker processes drain these queues.";
    tbody.replaceChildren();
    for (const q of view.queues) {
      const row = tbody.insertRow();
      row.dataset.queue = q.queue;
      cell(row, q.queue);
      cell(row, q.depth.toLocaleString(), "num depth");
      cell(row, age(q.oldest_pending_age_seconds), "num");
      cell(row, q.in_flight, "num");
      const failures = cell(row, q.recent_failures.length === 0 ? "none" : "", "failures");
      for (const f of q.recent_failures) {
        const line = document.createElement("div");
        line.className = "error";
        line.textContent = `${f.id} ${f.target}${f.requested_by ? ` (requested by ${f.requested_by})` : ""}: ${f.error}`;
        failures.appendChild(line);
      }
    }
  } catch (e) {
    tbody.replaceChildren();
    cell(tbody.insertRow(), e.message, "error");
  }
}

// "2026-12-02T03:00:00+04:00" as "2026-12-02 03:00 +04:00"; a UTC instant as "23:00 UTC" (with its date when it differs).
function localTime(iso) {
  const offset = iso.slice(19).replace(/^\.\d+/, "");
  return iso.slice(0, 10) + " " + iso.slice(11, 16) + (offset === "Z" || offset === "+00:00" ? " UTC" : " " + offset);
}

function utcTime(iso, localIso) {
  return (iso.slice(0, 10) === localIso.slice(0, 10) ? "" : iso.slice(0, 10) + " ") + iso.slice(11, 16) + " UTC";
}

async function loadSchedule() {
  const tbody = $("schedule").querySelector("tbody");
  try {
    const view = await api("/api/v1/schedule?count=3");
    tbody.replaceChildren();
    if (view.entries.length === 0) {
      cell(tbody.insertRow(), "No schedule: runs start by hand, through the API or from cron. An entry without a timezone fires in UTC.").colSpan = 5;
      return;
    }
    for (const e of view.entries) {
      const row = tbody.insertRow();
      row.dataset.entry = e.entry;
      cell(row, e.entry, "num");
      cell(row, e.policies.join(", "));
      cell(row, e.cron, "key");
      cell(row, e.timezone, "zone");
      const next = cell(row, e.error ?? (e.next_firings.length === 0 ? "never again" : ""), e.error ? "error" : "next");
      for (const f of e.next_firings) {
        const line = document.createElement("div");
        line.className = "firing";
        line.textContent = localTime(f.local);
        if (e.timezone !== "UTC") {
          const utc = document.createElement("span");
          utc.className = "utc";
          utc.textContent = " · " + utcTime(f.utc, f.local);
          line.appendChild(utc);
        }
        next.appendChild(line);
      }
    }
  } catch (e) {
    tbody.replaceChildren();
    cell(tbody.insertRow(), e.message, "error");
  }
}

// Bytes removed (deleted or quarantined) per UTC day as an inline SVG bar chart: no library, no build step.
async function loadReclaimed() {
  const box = $("reclaimed-chart");
  let view;
  try {
    view = await api("/api/v1/reclaimed?days=30");
  } catch (e) {
    box.replaceChildren(document.createTextNode(e.message));
    return;
  }
  $("reclaimed-total").textContent = `${bytes(view.bytes_removed)} in ${view.objects_removed.toLocaleString()} objects over ${view.days} days`;
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  };
  const width = 1000, height = 180, left = 70, bottom = 22, top = 8;
  // At least 1 KB tall: an empty month shows 0 B, 512 B, 1 KB rather than three labels that round alike.
  const max = Math.max(1024, ...view.per_day.map((d) => d.bytes_removed));
  const slot = (width - left) / view.per_day.length;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "bytes reclaimed per day", class: "chart" });
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  for (const f of [0, 0.5, 1]) {
    svg.appendChild(el("line", { x1: left, x2: width, y1: y(max * f), y2: y(max * f), class: "grid" }));
    svg.appendChild(el("text", { x: left - 6, y: y(max * f) + 4, class: "axis", "text-anchor": "end" }, bytes(Math.round(max * f))));
  }
  view.per_day.forEach((d, i) => {
    const x = left + i * slot + slot * 0.15;
    const bar = el("rect", { x, y: y(d.bytes_removed), width: slot * 0.7, height: height - bottom - y(d.bytes_removed), class: "bar", "data-day": d.day, "data-bytes": d.bytes_removed });
    bar.appendChild(el("title", {}, `${d.day}: ${bytes(d.bytes_removed)} removed (${bytes(d.bytes_deleted)} deleted, ${bytes(d.bytes_quarantined)} quarantined), ${bytes(d.bytes_restored)} restored`));
    svg.appendChild(bar);
    if (i % 5 === 0 || i === view.per_day.length - 1) {
      svg.appendChild(el("text", { x: x + slot * 0.35, y: height - 6, class: "axis", "text-anchor": "middle" }, d.day.slice(5)));
    }
  });
  box.replaceChildren(svg);
}

async function showRun(id) {
  selectedRun = id;
  $("run-detail").hidden = false;
  $("detail-id").textContent = id;
  $("restore-message").textContent = "";
  const actions = await api(`/api/v1/runs/${id}/actions`);
  const tbody = $("actions").querySelector("tbody");
  tbody.replaceChildren();
  for (const a of actions) {
    const row = tbody.insertRow();
    cell(row, a.kind);
    cell(row, a.key, "key");
    cell(row, bytes(a.size), "num");
    cell(row, a.outcome + (a.error ? `: ${a.error}` : ""), a.outcome);
    cell(row, a.reason);
  }
  if (actions.length === 0) cell(tbody.insertRow(), "No actions recorded (a dry run records none).");
  $("restore").hidden = !me?.can.restore || !actions.some((a) => a.kind === "quarantine" && a.outcome === "done");
}

async function restore() {
  if (!selectedRun) return;
  try {
    const run = await api(`/api/v1/runs/${selectedRun}/restore`, { method: "POST" });
    $("restore-message").textContent = `Restored: ${run.summary?.objects_done ?? 0} objects (run ${run.id}).`;
    $("restore-message").className = "ok";
  } catch (e) {
    $("restore-message").textContent = e.message;
    $("restore-message").className = "error";
  }
  await refresh();
}

async function startRun(dryRun) {
  if (!dryRun && !confirm("Start a real run? Objects are quarantined or deleted as each policy says.")) return;
  $("run-message").textContent = "";
  $("plan").replaceChildren();
  try {
    let run = await api("/api/v1/runs", { method: "POST", body: JSON.stringify({ dry_run: dryRun }) });
    $("run-message").textContent = `Run ${run.id} started…`;
    while (run.phase !== "finished") {
      await new Promise((r) => setTimeout(r, 300));
      run = await api(`/api/v1/runs/${run.id}`);
    }
    $("run-message").textContent = `Run ${run.id} ${run.status}` + (run.error ? `: ${run.error}` : "");
    $("run-message").className = run.status === "succeeded" ? "ok" : "error";
    if (run.plan) showPlan(run.plan);
  } catch (e) {
    $("run-message").textContent = e.message;
    $("run-message").className = "error";
  }
  await refresh();
}

function showPlan(plan) {
  const table = document.createElement("table");
  table.id = "plan-table";
  table.createTHead().innerHTML = "<tr><th>policy</th><th>action</th><th>groups scanned</th><th>orphaned</th><th>objects</th><th>bytes</th><th>guards</th></tr>";
  const tbody = table.createTBody();
  for (const p of plan.policies) {
    const row = tbody.insertRow();
    cell(row, p.policy);
    cell(row, p.action);
    cell(row, p.totals.groups_scanned, "num");
    cell(row, p.totals.groups_orphaned, "num");
    cell(row, p.totals.objects_orphaned, "num");
    cell(row, bytes(p.totals.bytes_reclaimable), "num");
    cell(row, p.refused ? "refused: " + p.guards.filter((g) => !g.passed).map((g) => g.message).join("; ") : "passed", p.refused ? "refused" : "ok");
    for (const g of p.groups) {
      const sub = tbody.insertRow();
      cell(sub, "");
      cell(sub, g.group_key, "key").colSpan = 4;
      cell(sub, bytes(g.bytes), "num");
      cell(sub, g.reason);
    }
    // A records policy's rows: the row, then the keys and folders its templates name.
    for (const r of p.rows ?? []) {
      const sub = tbody.insertRow();
      sub.className = "plan-row";
      cell(sub, "");
      cell(sub, `row ${r.row}: ${[...r.keys, ...r.prefixes].join(", ") || "names no object"}`, "key").colSpan = 4;
      cell(sub, bytes(r.bytes), "num");
      cell(sub, r.reason);
    }
  }
  $("plan").replaceChildren(table);
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("dry-run").addEventListener("click", () => startRun(true));
  $("real-run").addEventListener("click", () => startRun(false));
  $("restore").addEventListener("click", restore);
  $("tenants-by").addEventListener("change", loadTenants);
  if (sessionStorage.getItem(tokenKey)) signIn();
});
