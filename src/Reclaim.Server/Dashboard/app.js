// Reclaim dashboard: plain JavaScript over the HTTP API. The token lives in sessionStorage (this tab only).
"use strict";
const $ = (id) => document.getElementById(id);
const tokenKey = "reclaim.token";
let selectedRun = null;

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
    await api("/api/v1/runs?limit=1");
  } catch (e) {
    sessionStorage.removeItem(tokenKey);
    $("sign-in-error").textContent = e.status === 401 ? "That token is not accepted." : e.message;
    return;
  }
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = "signed in";
  await refresh();
}

function signOut() {
  sessionStorage.removeItem(tokenKey);
  location.reload();
}

async function refresh() {
  await Promise.all([loadStores(), loadRuns(), loadQueue()]);
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
      cell(row, s.price_per_gb_month == null ? "" : "$" + (s.bytes / 1e9 * s.price_per_gb_month).toFixed(2), "num");
    }
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
    cell(row, r.id, "key");
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
  try {
    const q = await api("/api/v1/queue");
    $("queue").textContent = JSON.stringify(q);
  } catch (e) {
    $("queue").textContent = e.status === 501 ? "The deletion queue is not available in this build." : e.message;
  }
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
  $("restore").hidden = !actions.some((a) => a.kind === "quarantine" && a.outcome === "done");
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
  }
  $("plan").replaceChildren(table);
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("dry-run").addEventListener("click", () => startRun(true));
  $("real-run").addEventListener("click", () => startRun(false));
  $("restore").addEventListener("click", restore);
  if (sessionStorage.getItem(tokenKey)) signIn();
});
