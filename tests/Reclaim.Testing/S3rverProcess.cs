using System.Diagnostics;
using System.Text;

namespace Reclaim.Testing;

/// <summary>
/// An s3rver (npm <c>s3rver</c> 3.7.1) started through <c>tests/services/s3rver.js</c> on a free loopback port,
/// storing its buckets in a temporary folder. Stopped, and its folder removed, on dispose; it also exits by itself
/// when the test process goes away (the launcher watches its standard input).
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    /// <summary>The line the launcher prints once it accepts requests, followed by the endpoint URL.</summary>
    public const string ReadyLinePrefix = "s3rver listening on ";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    private readonly Process _process;
    private readonly TemporaryFolder _folder;

    private S3rverProcess(Process process, TemporaryFolder folder, Uri endpoint)
    {
        _process = process;
        _folder = folder;
        Endpoint = endpoint;
    }

    /// <summary>The server's URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// The folder s3rver keeps its buckets in: an object is the file <c>{bucket}/{key}._S3rver_object</c>, whose
    /// modification time is the object's LastModified (a test can age an object by setting it).
    /// </summary>
    public string DataFolder => _folder.Path;

    /// <summary>The folder of the launcher and its npm package (<c>tests/services</c>).</summary>
    public static string ServicesFolder => Path.Combine(TestEnvironment.RepositoryRoot, "tests", "services");

    /// <summary>
    /// Installs s3rver when <c>tests/services/node_modules</c> lacks it (<c>npm ci</c>), then starts it and waits
    /// until it accepts requests.
    /// </summary>
    /// <param name="buckets">Buckets to create before it starts.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">npm or node failed; the message holds their output.</exception>
    public static async Task<S3rverProcess> StartAsync(IEnumerable<string>? buckets = null, CancellationToken cancellationToken = default)
    {
        await EnsureInstalledAsync(cancellationToken).ConfigureAwait(false);
        var bucketList = buckets?.ToList() ?? [];
        for (var attempt = 1; ; attempt++)
        {
            var folder = new TemporaryFolder("s3rver");
            try
            {
                return await TryStartAsync(FreePort.Find(), folder, bucketList, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                folder.Dispose(); // another process took the port in between: try another
            }
            catch
            {
                folder.Dispose();
                throw;
            }
        }
    }

    /// <summary>Stops the server and removes its folder.</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        finally
        {
            _process.Dispose();
            _folder.Dispose();
        }
    }

    private static async Task<S3rverProcess> TryStartAsync(int port, TemporaryFolder folder, IReadOnlyList<string> buckets, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = TestEnvironment.RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--openssl-legacy-provider", Path.Combine(ServicesFolder, "s3rver.js"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", folder.Path, "--exit-on-stdin-close" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var bucket in buckets)
        {
            start.ArgumentList.Add("--bucket");
            start.ArgumentList.Add(bucket);
        }

        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new StringBuilder();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is { } text && text.StartsWith(ReadyLinePrefix, StringComparison.Ordinal))
            {
                ready.TrySetResult(new Uri(text[ReadyLinePrefix.Length..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, line) =>
        {
            lock (errors)
            {
                errors.AppendLine(line.Data);
            }
        };
        process.Exited += (_, _) =>
        {
            // Let the error reader finish before reading what it collected.
            process.WaitForExit();
            lock (errors)
            {
                ready.TrySetException(new InvalidOperationException($"s3rver exited with code {process.ExitCode} before it was ready: {errors}"));
            }
        };

        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var endpoint = await ready.Task.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
            return new S3rverProcess(process, folder, endpoint);
        }
        catch (Exception e)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
            throw e is TimeoutException ? new InvalidOperationException($"s3rver did not start within {StartTimeout.TotalSeconds} s", e) : e;
        }
    }

    /// <summary>Runs <c>npm ci</c> in <c>tests/services</c> unless s3rver is there; one test process at a time.</summary>
    private static async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var marker = Path.Combine(ServicesFolder, "node_modules", "s3rver", "package.json");
        if (File.Exists(marker))
        {
            return;
        }

        await InstallGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var processLock = await AcquireFileLockAsync(Path.Combine(Path.GetTempPath(), "reclaim-tests-npm.lock"), cancellationToken).ConfigureAwait(false);
            if (File.Exists(marker))
            {
                return;
            }

            var install = new ProcessStartInfo("npm")
            {
                WorkingDirectory = ServicesFolder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "ci", "--no-audit", "--no-fund", "--prefix", ServicesFolder })
            {
                install.ArgumentList.Add(argument);
            }

            using var npm = Process.Start(install) ?? throw new InvalidOperationException("npm could not be started");
            var output = npm.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = npm.StandardError.ReadToEndAsync(cancellationToken);
            await npm.WaitForExitAsync(cancellationToken).WaitAsync(InstallTimeout, cancellationToken).ConfigureAwait(false);
            if (npm.ExitCode != 0 || !File.Exists(marker))
            {
                throw new InvalidOperationException($"'npm ci' in {ServicesFolder} failed with code {npm.ExitCode}: {await output.ConfigureAwait(false)}{await error.ConfigureAwait(false)}");
            }
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
