using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Reclaim.Engine;
using Reclaim.Engine.Configuration;
using Reclaim.Engine.Runtime;
using Reclaim.Server.Scheduling;

namespace Reclaim.Server;

/// <summary>How <c>reclaim serve</c> runs, beyond the config file.</summary>
public sealed record ServerSettings
{
    /// <summary>Where to listen; <c>server.urls</c> when <see langword="null"/>. <c>http://127.0.0.1:0</c> picks a free port.</summary>
    public string? Urls { get; init; }

    /// <summary>Write logs as JSON lines (default) rather than single-line text.</summary>
    public bool JsonLogs { get; init; } = true;

    /// <summary>The least level logged (default <see cref="LogLevel.Information"/>).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>This replica's id in the scheduler cluster (default <c>AUTO</c>: host name and start time).</summary>
    public string InstanceId { get; init; } = "AUTO";

    /// <summary>
    /// Run the queue worker in this process (default <see langword="true"/>; <c>reclaim serve --no-worker</c> turns it
    /// off when separate <c>reclaim worker</c> processes drain the queues). <c>POST /api/v1/deletions</c> enqueues either way.
    /// </summary>
    public bool QueueWorker { get; init; } = true;

    /// <summary>
    /// Where to send metrics and logs over OTLP (the collector's base URL, for example <c>http://127.0.0.1:4318/</c>;
    /// <c>v1/metrics</c> and <c>v1/logs</c> are added for OTLP/HTTP). When <see langword="null"/> (default) the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> environment variable decides, and no OTLP export runs when it is unset too.
    /// </summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Time between OTLP metric exports; <see langword="null"/> (default) leaves it to <c>OTEL_METRIC_EXPORT_INTERVAL</c> (60 s when unset).</summary>
    public TimeSpan? OtlpExportInterval { get; init; }

    /// <summary>The clock (tests move it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>Builds the <c>reclaim serve</c> host: API, dashboard, metrics, scheduler, queue worker, over one <see cref="ReclaimEngine"/>.</summary>
public static class ReclaimServer
{
    /// <summary>The rate limiter policy of mutating routes.</summary>
    public const string MutatingPolicy = "mutating";

    /// <summary>The authorization policy of routes any authenticated caller may use, whatever its role (<c>GET /api/v1/me</c>).</summary>
    public const string SignedIn = "signed-in";

    /// <summary>
    /// Builds the application: nothing listens until it is started. The state schema is created first, so a replica that cannot reach its state fails at start.
    /// </summary>
    /// <param name="config">The loaded config.</param>
    /// <param name="settings">How to run.</param>
    /// <param name="cancellationToken">Cancels the migrations.</param>
    /// <returns>The application.</returns>
    public static async Task<WebApplication> BuildAsync(ReclaimConfig config, ServerSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ReclaimServer).Assembly.GetName().Name,
            ContentRootPath = Path.GetDirectoryName(config.Path) ?? Directory.GetCurrentDirectory(),
        });
        builder.WebHost.UseUrls(settings.Urls ?? config.Server.Urls);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Quartz", LogLevel.Warning);
        if (settings.JsonLogs)
        {
            builder.Logging.AddEventJsonConsole();
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        Metrics.Add(builder, settings);
        Systemd.Add(builder.Services, settings.TimeProvider);
        var services = builder.Services;
        services.AddSingleton(config);
        services.AddSingleton(settings.TimeProvider);
        services.AddSingleton(sp => new Workspace(config, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => new ReclaimEngine(sp.GetRequiredService<Workspace>(), settings.TimeProvider, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => new RunNotifier(config, new HttpClient(), sp.GetRequiredService<ILogger<RunNotifier>>()));
        services.AddSingleton<RunCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<RunCoordinator>());
        services.AddSingleton(settings);
        services.AddSingleton<QueueHost>();
        services.AddHostedService(sp => sp.GetRequiredService<QueueHost>());
        services.AddHostedService<PartitionedRunHost>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();
        AddSecurity(services, config);
        Scheduler.Add(services, config, settings.InstanceId);

        var app = builder.Build();
        await app.Services.GetRequiredService<ReclaimEngine>().MigrateAsync(cancellationToken);

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapOpenApi();
        ApiEndpoints.Map(app);
        Compat.CompatEndpoints.Map(app, config.Server.Compat);
        Metrics.Map(app);
        Dashboard.Map(app);
        return app;
    }

    private static void AddSecurity(IServiceCollection services, ReclaimConfig config)
    {
        var jwt = config.Server.Jwt;
        var authentication = services.AddAuthentication(Bearer.PolicyScheme)
            .AddPolicyScheme(Bearer.PolicyScheme, "API key or JWT", o => o.ForwardDefaultSelector = context =>
                jwt is not null && Bearer.LooksLikeJwt(Bearer.Token(context.Request)) ? JwtBearerDefaults.AuthenticationScheme : ApiKeyHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        if (jwt is not null)
        {
            authentication.AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    NameClaimType = jwt.NameClaim,
                    RoleClaimType = jwt.RoleClaim,
                    ValidateAudience = jwt.Audience is not null,
                    ValidAudience = jwt.Audience,
                    ValidateIssuer = jwt.Issuer is not null || jwt.Authority is not null,
                    ValidIssuer = jwt.Issuer,
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                if (jwt.Secret is not null)
                {
                    o.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.Secret));
                    o.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
                }
                else
                {
                    o.Authority = jwt.Authority;
                    o.RequireHttpsMetadata = jwt.Authority!.StartsWith("https:", StringComparison.OrdinalIgnoreCase);
                }

                o.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        context.Principal!.AddIdentity(Roles.FromJwt(context.Principal!, jwt));
                        return Task.CompletedTask;
                    },
                };
            });
        }

        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Viewer, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Roles.Viewer)))
            .AddPolicy(Roles.Operator, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Roles.Operator)))
            .AddPolicy(Roles.Admin, p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(Roles.Admin)))
            .AddPolicy(SignedIn, p => p.RequireAuthenticatedUser());
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, RoleRequirementHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();

        var permits = config.Server.RateLimitPerMinute;
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(MutatingPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.User.Identity?.Name ?? context.Connection.RemoteIpAddress?.ToString() ?? "anonymous",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = async (context, cancellationToken) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await Problems.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests",
                    $"at most {permits} changes per minute per caller; retry in {seconds} s");
            };
        });
    }
}
