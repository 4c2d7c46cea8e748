-- Argo CD health check for MySQL objects (mysqls.otus.homework), for argocd-cm's
-- resource.customizations.health.otus.homework_MySQL (see argocd-cm-health.yaml beside this file).
-- It reads what the operator writes and what kstatus (Flux) reads the same way: status.observedGeneration, then
-- the conditions Stalled (cannot progress until someone changes something), Ready and Reconciling.
-- Argo CD runs it in gopher-lua (Lua 5.1) with the object as the global `obj`; deploy/argocd/health_test.ts runs
-- it with Debian's lua5.1 over every stage the operator can report.
local hs = { status = "Progressing", message = "Waiting for the operator to report" }
if obj.status == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

-- Paused on purpose (annotation otus.homework/reconcile): Argo CD's own word for it.
if obj.status.phase == "Paused" then
  hs.status = "Suspended"
  local c
  for _, x in ipairs(obj.status.conditions or {}) do
    if x.type == "Reconciling" then c = x end
  end
  hs.message = c and c.message or "Paused"
  return hs
end

local conditions = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    conditions[c.type] = c
  end
end

local function say(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end

local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = say(stalled)
  return hs
end

local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" and (obj.metadata == nil or obj.metadata.deletionTimestamp == nil) then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready ~= nil then
  hs.message = say(ready)
end
return hs
