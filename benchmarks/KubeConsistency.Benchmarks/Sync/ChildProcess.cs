using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// A child process running this same executable in another mode. Protocol lines on its stdout start with
/// <c>@</c> (<c>@READY {json}</c>, <c>@RESULT {json}</c>, …); every other line is echoed to our stderr with a prefix.
/// Every child ever started is killed (whole tree) when the orchestrator exits, however it exits.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<int, Process> s_live = new();
    private static int s_hooked;

    private readonly Process _process;
    private readonly string _tag;
    private readonly Channel<string> _protocol = Channel.CreateUnbounded<string>();
    private readonly Task _pump;

    private ChildProcess(Process process, string tag)
    {
        _process = process;
        _tag = tag;
        _pump = Task.Run(PumpAsync);
        _ = Task.Run(PumpStderrAsync);
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string tag, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        HookExit();
        var psi = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? throw new InvalidOperationException("no process path"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Started as "dotnet app.dll": pass the assembly again.
        if (Path.GetFileNameWithoutExtension(psi.FileName).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            psi.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // Children start from a clean runtime configuration: only what the caller asks for.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal) && k != "DOTNET_ROOT" && !k.StartsWith("DOTNET_CLI", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + tag);
        s_live[process.Id] = process;
        return new ChildProcess(process, tag);
    }

    /// <summary>Waits for the next protocol line starting with <paramref name="prefix"/>; returns its payload.</summary>
    public async Task<string> WaitForAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _protocol.Reader.WaitToReadAsync(cts.Token))
            {
                while (_protocol.Reader.TryRead(out var line))
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return line[prefix.Length..].Trim();
                    }

                    if (line.StartsWith("@ERROR", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"{_tag} failed: {line}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"{_tag}: no {prefix} within {timeout.TotalSeconds:0} s (watchdog); process killed");
        }

        throw new InvalidOperationException($"{_tag} exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before {prefix}");
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _pump;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        Kill();
        s_live.TryRemove(_process.Id, out _);
        _process.Dispose();
    }

    private static void HookExit()
    {
        if (Interlocked.Exchange(ref s_hooked, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private static void KillAll()
    {
        foreach (var p in s_live.Values)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith('@'))
            {
                _protocol.Writer.TryWrite(line);
            }
            else
            {
                await Console.Error.WriteLineAsync($"  [{_tag}] {line}");
            }
        }

        _protocol.Writer.TryComplete();
    }

    private async Task PumpStderrAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            await Console.Error.WriteLineAsync($"  [{_tag}!] {line}");
        }
    }
}
