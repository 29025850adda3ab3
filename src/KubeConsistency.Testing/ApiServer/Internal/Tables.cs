using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Server-side printing (<c>meta.k8s.io/v1</c> Table) with the column sets of kube-apiserver's printers.</summary>
internal static class Tables
{
    private const string None = "<none>";

    public static JsonArray ColumnDefinitions(ApiResourceDefinition def)
    {
        var columns = new JsonArray();
        void Add(string name, string type, string format, string description, int priority)
            => columns.Add(new JsonObject
            {
                ["name"] = name,
                ["type"] = type,
                ["format"] = format,
                ["description"] = description,
                ["priority"] = priority,
            });

        Add("Name", "string", "name", "Name of the " + def.Singular, 0);
        switch ((def.Group, def.Plural))
        {
            case ("", "pods"):
                Add("Ready", "string", "", "ready containers / containers", 0);
                Add("Status", "string", "", "aggregate pod status (phase or container reason)", 0);
                Add("Restarts", "string", "", "container restarts", 0);
                Add("Age", "string", "", "time since creation", 0);
                Add("IP", "string", "", "status.podIP", 1);
                Add("Node", "string", "", "spec.nodeName", 1);
                Add("Nominated Node", "string", "", "status.nominatedNodeName", 1);
                Add("Readiness Gates", "string", "", "spec.readinessGates", 1);
                break;
            case ("apps", "replicasets"):
                Add("Desired", "integer", "", "spec.replicas", 0);
                Add("Current", "integer", "", "status.replicas", 0);
                Add("Ready", "integer", "", "status.readyReplicas", 0);
                Add("Age", "string", "", "time since creation", 0);
                Add("Containers", "string", "", "container names", 1);
                Add("Images", "string", "", "container images", 1);
                Add("Selector", "string", "", "spec.selector", 1);
                break;
            case ("batch", "jobs"):
                Add("Status", "string", "", "job status derived from conditions", 0);
                Add("Completions", "string", "", "succeeded / desired completions", 0);
                Add("Duration", "string", "", "time the job has been running", 0);
                Add("Age", "string", "", "time since creation", 0);
                Add("Containers", "string", "", "container names", 1);
                Add("Images", "string", "", "container images", 1);
                Add("Selector", "string", "", "spec.selector", 1);
                break;
            case ("", "configmaps"):
                Add("Data", "integer", "", "number of keys in data and binaryData", 0);
                Add("Age", "string", "", "time since creation", 0);
                break;
            case ("", "namespaces"):
                Add("Status", "string", "", "status.phase", 0);
                Add("Age", "string", "", "time since creation", 0);
                break;
            case ("coordination.k8s.io", "leases"):
                Add("Holder", "string", "", "spec.holderIdentity", 0);
                Add("Age", "string", "", "time since creation", 0);
                break;
            default:
                foreach (var c in def.TableColumns)
                {
                    Add(c.Name, c.Type, c.Format, c.Description, c.Priority);
                }

                if (!def.TableColumns.Any(c => c.Name.Equals("Age", StringComparison.OrdinalIgnoreCase)))
                {
                    Add("Age", "date", "", "time since creation", 0);
                }

                break;
        }

        return columns;
    }

    /// <summary>A Table row for one object. <paramref name="includeObject"/>: Metadata (default), Object or None.</summary>
    public static JsonObject Row(ApiResourceDefinition def, JsonObject obj, DateTimeOffset now, string includeObject)
    {
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        var name = Meta.TryGetString(meta, "name") ?? "";
        var age = Age(Meta.TryGetString(meta, "creationTimestamp"), now);
        var cells = new JsonArray { name };
        switch ((def.Group, def.Plural))
        {
            case ("", "pods"):
                PodCells(obj, meta, cells, age, now);
                break;
            case ("apps", "replicasets"):
                cells.Add(Meta.GetInt(obj["spec"] as JsonObject, "replicas") ?? 1);
                cells.Add(Meta.GetInt(obj["status"] as JsonObject, "replicas") ?? 0);
                cells.Add(Meta.GetInt(obj["status"] as JsonObject, "readyReplicas") ?? 0);
                cells.Add(age);
                AddContainerCells(cells, Meta.Path(obj, ".spec.template.spec.containers") as JsonArray, Meta.Path(obj, ".spec.selector") as JsonObject);
                break;
            case ("batch", "jobs"):
                JobCells(obj, meta, cells, age, now);
                break;
            case ("", "configmaps"):
                cells.Add(((obj["data"] as JsonObject)?.Count ?? 0) + ((obj["binaryData"] as JsonObject)?.Count ?? 0));
                cells.Add(age);
                break;
            case ("", "namespaces"):
                cells.Add(Meta.TryGetString(obj["status"] as JsonObject, "phase") ?? "");
                cells.Add(age);
                break;
            case ("coordination.k8s.io", "leases"):
                cells.Add(Meta.TryGetString(obj["spec"] as JsonObject, "holderIdentity") ?? "");
                cells.Add(age);
                break;
            default:
                foreach (var c in def.TableColumns)
                {
                    var value = Meta.Path(obj, c.JsonPath);
                    cells.Add(c.Type == "date" && value is JsonValue dv && dv.GetValueKind() == JsonValueKind.String
                        ? Age(dv.GetValue<string>(), now)
                        : value?.DeepClone());
                }

                if (!def.TableColumns.Any(c => c.Name.Equals("Age", StringComparison.OrdinalIgnoreCase)))
                {
                    cells.Add(age);
                }

                break;
        }

        var row = new JsonObject { ["cells"] = cells };
        switch (includeObject)
        {
            case "None":
                break;
            case "Object":
                row["object"] = obj.DeepClone();
                break;
            default:
                row["object"] = new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = meta.DeepClone(),
                };
                break;
        }

        return row;
    }

    private static void PodCells(JsonObject pod, JsonObject meta, JsonArray cells, string age, DateTimeOffset now)
    {
        var spec = pod["spec"] as JsonObject;
        var status = pod["status"] as JsonObject;
        var restarts = 0L;
        var totalContainers = (spec?["containers"] as JsonArray)?.Count ?? 0;
        var readyContainers = 0;
        DateTimeOffset? lastRestart = null;
        var phase = Meta.TryGetString(status, "phase") ?? "";
        var reason = phase;
        if (Meta.TryGetString(status, "reason") is { Length: > 0 } r)
        {
            reason = r;
        }

        if (status?["conditions"] is JsonArray conditions)
        {
            foreach (var c in conditions.OfType<JsonObject>())
            {
                if (Meta.TryGetString(c, "type") == "PodScheduled" && Meta.TryGetString(c, "reason") == "SchedulingGated")
                {
                    reason = "SchedulingGated";
                }
            }
        }

        var initializing = false;
        var initStatuses = status?["initContainerStatuses"] as JsonArray ?? [];
        var initCount = (spec?["initContainers"] as JsonArray)?.Count ?? 0;
        for (var i = 0; i < initStatuses.Count; i++)
        {
            if (initStatuses[i] is not JsonObject container)
            {
                continue;
            }

            restarts += Meta.GetInt(container, "restartCount") ?? 0;
            var state = container["state"] as JsonObject;
            var terminated = state?["terminated"] as JsonObject;
            var waiting = state?["waiting"] as JsonObject;
            if (terminated is not null && (Meta.GetInt(terminated, "exitCode") ?? 0) == 0)
            {
                continue;
            }

            if (terminated is not null)
            {
                var tr = Meta.TryGetString(terminated, "reason") ?? "";
                reason = tr.Length > 0 ? "Init:" + tr
                    : (Meta.GetInt(terminated, "signal") ?? 0) != 0 ? $"Init:Signal:{Meta.GetInt(terminated, "signal")}"
                    : $"Init:ExitCode:{Meta.GetInt(terminated, "exitCode")}";
            }
            else if (waiting is not null && Meta.TryGetString(waiting, "reason") is { Length: > 0 } wr && wr != "PodInitializing")
            {
                reason = "Init:" + wr;
            }
            else
            {
                reason = $"Init:{i}/{initCount}";
            }

            initializing = true;
            break;
        }

        if (!initializing)
        {
            restarts = 0;
            var hasRunning = false;
            var statuses = status?["containerStatuses"] as JsonArray ?? [];
            for (var i = statuses.Count - 1; i >= 0; i--)
            {
                if (statuses[i] is not JsonObject container)
                {
                    continue;
                }

                restarts += Meta.GetInt(container, "restartCount") ?? 0;
                if (Meta.ParseTime(Meta.TryGetString(Meta.Path(container, ".lastState.terminated") as JsonObject, "finishedAt")) is { } finished
                    && (lastRestart is null || finished > lastRestart))
                {
                    lastRestart = finished;
                }

                var state = container["state"] as JsonObject;
                var waiting = state?["waiting"] as JsonObject;
                var terminated = state?["terminated"] as JsonObject;
                if (Meta.TryGetString(waiting, "reason") is { Length: > 0 } wr)
                {
                    reason = wr;
                }
                else if (Meta.TryGetString(terminated, "reason") is { Length: > 0 } tr)
                {
                    reason = tr;
                }
                else if (terminated is not null)
                {
                    reason = (Meta.GetInt(terminated, "signal") ?? 0) != 0
                        ? $"Signal:{Meta.GetInt(terminated, "signal")}"
                        : $"ExitCode:{Meta.GetInt(terminated, "exitCode") ?? 0}";
                }
                else if (container["ready"] is JsonValue rv && rv.GetValueKind() == JsonValueKind.True && state?["running"] is not null)
                {
                    hasRunning = true;
                    readyContainers++;
                }
            }

            if (reason == "Completed" && hasRunning)
            {
                var ready = (status?["conditions"] as JsonArray)?.OfType<JsonObject>()
                    .Any(c => Meta.TryGetString(c, "type") == "Ready" && Meta.TryGetString(c, "status") == "True") ?? false;
                reason = ready ? "Running" : "NotReady";
            }
        }

        if (meta["deletionTimestamp"] is not null)
        {
            if (Meta.TryGetString(status, "reason") == "NodeLost")
            {
                reason = "Unknown";
            }
            else if (phase is not "Succeeded" and not "Failed")
            {
                reason = "Terminating";
            }
        }

        var restartsText = restarts.ToString(CultureInfo.InvariantCulture);
        if (restarts != 0 && lastRestart is { } lr)
        {
            restartsText += $" ({HumanDuration(now - lr)} ago)";
        }

        cells.Add($"{readyContainers}/{totalContainers}");
        cells.Add(reason);
        cells.Add(restartsText);
        cells.Add(age);

        var podIp = (status?["podIPs"] as JsonArray)?.OfType<JsonObject>().Select(p => Meta.TryGetString(p, "ip")).FirstOrDefault() ?? "";
        cells.Add(podIp.Length > 0 ? podIp : None);
        var node = Meta.TryGetString(spec, "nodeName") ?? "";
        cells.Add(node.Length > 0 ? node : None);
        var nominated = Meta.TryGetString(status, "nominatedNodeName") ?? "";
        cells.Add(nominated.Length > 0 ? nominated : None);
        if (spec?["readinessGates"] is JsonArray gates && gates.Count > 0)
        {
            var trueGates = gates.OfType<JsonObject>().Count(g =>
                (status?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c =>
                    Meta.TryGetString(c, "type") == Meta.TryGetString(g, "conditionType") && Meta.TryGetString(c, "status") == "True") ?? false);
            cells.Add($"{trueGates}/{gates.Count}");
        }
        else
        {
            cells.Add(None);
        }
    }

    private static void JobCells(JsonObject job, JsonObject meta, JsonArray cells, string age, DateTimeOffset now)
    {
        var spec = job["spec"] as JsonObject;
        var status = job["status"] as JsonObject;
        var succeeded = Meta.GetInt(status, "succeeded") ?? 0;
        string completions;
        if (Meta.GetInt(spec, "completions") is { } c)
        {
            completions = $"{succeeded}/{c}";
        }
        else if (Meta.GetInt(spec, "parallelism") is { } p && p > 1)
        {
            completions = $"{succeeded}/1 of {p}";
        }
        else
        {
            completions = $"{succeeded}/1";
        }

        var start = Meta.ParseTime(Meta.TryGetString(status, "startTime"));
        var completion = Meta.ParseTime(Meta.TryGetString(status, "completionTime"));
        var duration = start is null ? "" : HumanDuration((completion ?? now) - start.Value);
        bool Has(string type) => (status?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(x => Meta.TryGetString(x, "type") == type && Meta.TryGetString(x, "status") == "True") ?? false;
        var state = Has("Complete") ? "Complete"
            : Has("Failed") ? "Failed"
            : meta["deletionTimestamp"] is not null ? "Terminating"
            : Has("SuccessCriteriaMet") ? "SuccessCriteriaMet"
            : Has("Suspended") ? "Suspended"
            : Has("FailureTarget") ? "FailureTarget"
            : "Running";
        cells.Add(state);
        cells.Add(completions);
        cells.Add(duration);
        cells.Add(age);
        AddContainerCells(cells, Meta.Path(job, ".spec.template.spec.containers") as JsonArray, spec?["selector"] as JsonObject);
    }

    private static void AddContainerCells(JsonArray cells, JsonArray? containers, JsonObject? selector)
    {
        var list = containers?.OfType<JsonObject>().ToList() ?? [];
        cells.Add(string.Join(",", list.Select(c => Meta.TryGetString(c, "name") ?? "")));
        cells.Add(string.Join(",", list.Select(c => Meta.TryGetString(c, "image") ?? "")));
        cells.Add(FormatLabelSelector(selector));
    }

    /// <summary><c>metav1.FormatLabelSelector</c>.</summary>
    public static string FormatLabelSelector(JsonObject? selector)
    {
        if (selector is null)
        {
            return None;
        }

        var parts = new List<(string Key, string Text)>();
        if (selector["matchLabels"] is JsonObject labels)
        {
            foreach (var (k, v) in labels)
            {
                parts.Add((k, k + "=" + v?.GetValue<string>()));
            }
        }

        if (selector["matchExpressions"] is JsonArray expressions)
        {
            foreach (var e in expressions.OfType<JsonObject>())
            {
                var key = Meta.TryGetString(e, "key") ?? "";
                var values = (e["values"] as JsonArray)?.Select(v => v?.GetValue<string>() ?? "").Order(StringComparer.Ordinal).ToList() ?? [];
                var text = Meta.TryGetString(e, "operator") switch
                {
                    "In" => $"{key} in ({string.Join(",", values)})",
                    "NotIn" => $"{key} notin ({string.Join(",", values)})",
                    "Exists" => key,
                    "DoesNotExist" => "!" + key,
                    _ => "<error>",
                };
                parts.Add((key, text));
            }
        }

        if (parts.Count == 0)
        {
            return None;
        }

        return string.Join(",", parts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Text));
    }

    public static string Age(string? timestamp, DateTimeOffset now)
        => Meta.ParseTime(timestamp) is { } t ? HumanDuration(now - t) : "<unknown>";

    /// <summary><c>k8s.io/apimachinery/pkg/util/duration.HumanDuration</c>.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)Math.Truncate(d.TotalSeconds);
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        if (seconds < 60 * 2)
        {
            return $"{seconds}s";
        }

        var minutes = (long)Math.Truncate(d.TotalMinutes);
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s";
        }

        if (minutes < 60 * 3)
        {
            return $"{minutes}m";
        }

        var hours = (long)Math.Truncate(d.TotalHours);
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? $"{hours}h" : $"{hours}h{m}m";
        }

        if (hours < 48)
        {
            return $"{hours}h";
        }

        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? $"{hours / 24}d" : $"{hours / 24}d{h}h";
        }

        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24}d";
        }

        if (hours < 24 * 365 * 8)
        {
            var dy = hours / 24 % 365;
            return dy == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{dy}d";
        }

        return $"{hours / 24 / 365}y";
    }

    /// <summary>The Table's <c>metadata</c> (resourceVersion, continue, remainingItemCount).</summary>
    public static JsonObject ListMeta(string resourceVersion, string? continueToken, long? remaining)
    {
        var m = new JsonObject { ["resourceVersion"] = resourceVersion };
        if (continueToken is not null)
        {
            m["continue"] = continueToken;
        }

        if (remaining is not null)
        {
            m["remainingItemCount"] = remaining.Value;
        }

        return m;
    }
}
