using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Runtime;
using Reclaim.Server;

namespace Reclaim.Cli;

/// <summary><c>reclaim serve</c> and <c>reclaim token create</c>: the HTTP API, dashboard and scheduler, and the keys for them.</summary>
internal static class ServeCommand
{
    /// <summary>Builds <c>reclaim serve [--urls URLS] [--log-format json|text] [--no-worker]</c>.</summary>
    /// <param name="context">Makes the command's context from its parse result.</param>
    /// <returns>The command.</returns>
    public static Command Create(Func<ParseResult, CliContext> context)
    {
        var urls = new Option<string?>("--urls") { Description = "Where to listen (default: server.urls, http://127.0.0.1:8080)." };
        var logFormat = new Option<string>("--log-format") { Description = "Log lines as json (default) or text.", DefaultValueFactory = _ => "json" };
        logFormat.AcceptOnlyFromAmong("json", "text");
        var noWorker = new Option<bool>("--no-worker") { Description = "Do not run the queue worker in this process (separate 'reclaim worker' processes drain the queues)." };
        var command = new Command("serve", "Run the HTTP API, the dashboard, metrics, the scheduler and the queue worker until stopped (Ctrl+C or SIGTERM finish the running batch first).") { urls, logFormat, noWorker };
        command.SetAction((result, cancellationToken) =>
        {
            var cli = context(result);
            return cli.GuardedAsync(async () =>
            {
                var config = ConfigLoader.Load(cli.ConfigPath);
                var settings = new ServerSettings
                {
                    Urls = result.GetValue(urls),
                    JsonLogs = result.GetValue(logFormat) == "json",
                    LogLevel = cli.Verbose ? LogLevel.Debug : LogLevel.Information,
                    TimeProvider = cli.Time,
                    QueueWorker = !result.GetValue(noWorker),
                };
                await using var app = await ReclaimServer.BuildAsync(config, settings, cancellationToken);
                RuntimeSettings.Current().Log(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Reclaim.Runtime"));

                // The host stops on SIGTERM/SIGINT by itself (under systemd it also reports READY=1 and STOPPING=1); the token covers an embedding caller.
                await app.RunAsync();
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>Builds <c>reclaim token create --role R [--name N]</c>.</summary>
    /// <param name="context">Makes the command's context from its parse result.</param>
    /// <returns>The command.</returns>
    public static Command Token(Func<ParseResult, CliContext> context)
    {
        var role = new Option<string>("--role") { Description = "viewer, operator or admin.", Required = true };
        role.AcceptOnlyFromAmong(Roles.Viewer, Roles.Operator, Roles.Admin);
        var name = new Option<string?>("--name") { Description = "Who holds the key, recorded as the actor (default: ROLE-key)." };
        var create = new Command("create", "Print a new random API key and the line to add under server.tokens (only its SHA-256 is stored).") { role, name };
        create.SetAction(result =>
        {
            var cli = context(result);
            var key = ApiKeys.Create();
            var holder = result.GetValue(name) ?? $"{result.GetValue(role)}-key";
            var line = $"- {{name: {holder}, role: {result.GetValue(role)}, sha256: {ApiKeys.Sha256Hex(key)}}}";
            if (cli.Json)
            {
                cli.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { key, name = holder, role = result.GetValue(role), sha256 = ApiKeys.Sha256Hex(key), config = line }));
            }
            else
            {
                cli.Out.WriteLine(key);
                cli.Error.WriteLine("add under server.tokens in reclaim.yaml (the key above is shown once and not stored):");
                cli.Out.WriteLine(line);
            }

            return ExitCodes.Ok;
        });
        return new Command("token", "API keys for reclaim serve.") { create };
    }
}
