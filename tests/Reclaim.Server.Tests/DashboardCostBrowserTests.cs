using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using Microsoft.Playwright;
using Reclaim.Testing;

namespace Reclaim.Server.Tests;

/// <summary>
/// The dashboard's cost card in headless Debian Chromium, for an s3 store (s3rver) that names its provider: what the
/// store costs per month now, what deleting its reclaimable bytes saves now and only after Wasabi's 90-day minimum, and
/// the warning that quarantine copies start a new minimum — the plan's own figures (<c>GET /api/v1/status</c>).
/// </summary>
public sealed class DashboardCostBrowserTests
{
    [Fact]
    public async Task CostCard_WasabiStore_ShowsCostNow_SavingNowAndAfterTheMinimum_AndTheQuarantineCopyWarning()
    {
        var bucket = "dashboard-cost-" + Guid.NewGuid().ToString("N")[..10];
        var endpoint = await TestS3Service.CreateBucketAsync(bucket);
        using (var client = TestS3Service.CreateClient(endpoint))
        {
            foreach (var (key, size) in new[] { ("uploads/a0/video.mp4", 100), ("uploads/gone/video.mp4", 4000) })
            {
                await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(new byte[size]), UseChunkEncoding = false });
            }
        }

        // Sixteen days after the upload: past the grace period, far from Wasabi's 90 days (billed for 74 more).
        var clock = new ManualClock(DateTimeOffset.UtcNow + TimeSpan.FromDays(16));
        await using var host = await ServerHost.StartAsync(timeProvider: clock, editYaml: yaml => yaml
            .Replace("catalogs:\n", $"""
                  wasabi:
                    type: s3
                    bucket: {bucket}
                    endpoint: {endpoint.ToString().TrimEnd('/')}
                    region: us-east-1
                    force_path_style: true
                    access_key: {TestEnvironment.S3rverAccessKey}
                    secret_key: {TestEnvironment.S3rverSecretKey}
                    use_chunk_encoding: false
                    provider: wasabi
                    price_per_gb_month: 1000000
                catalogs:

                """, StringComparison.Ordinal)
            .Replace("guards:\n", """
                  - name: wasabi-uploads
                    type: orphans
                    store: wasabi
                    layout: "uploads/{asset}/"
                    references: {catalog: app, query: "SELECT id AS asset FROM assets"}
                    min_age: 1d
                guards:

                """, StringComparison.Ordinal));
        var status = (await host.As("viewer").GetFromJsonAsync<JsonObject>("api/v1/status"))!;
        var policy = status["policies"]!.AsArray().Single(p => p!["policy"]!.GetValue<string>() == "wasabi-uploads")!;
        var cost = policy["cost"]!;
        cost["bytes_saving_now"]!.GetValue<long>().Should().Be(0, "an object deleted on day 16 is billed until day 90");
        cost["bytes_saving_later"]!.GetValue<long>().Should().Be(4000);
        policy["cost_warnings"]!.AsArray().Select(w => w!.GetValue<string>()).Should().Contain(w => w.Contains("each copy starts a new 90d minimum", StringComparison.Ordinal));
        status["policies"]!.AsArray().Single(p => p!["policy"]!.GetValue<string>() == "uploads")!["cost"].Should().BeNull("the folder store names no provider");
        var usage = (await host.As("viewer").GetFromJsonAsync<JsonObject>("api/v1/usage"))!;
        var wasabi = usage["stores"]!.AsArray().Single(s => s!["store"]!.GetValue<string>() == "wasabi")!;
        wasabi["provider"]!.GetValue<string>().Should().Be("wasabi");
        var perMonth = wasabi["cost_per_month"]!.GetValue<decimal>();
        var later = cost["saving_later_per_month"]!.GetValue<decimal>();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1000 } });
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(host.Address.ToString());
        await page.FillAsync("#token", ServerHost.Keys["viewer"]);
        await page.ClickAsync("#sign-in-form button");

        var row = page.Locator("#costs tr[data-store=wasabi][data-policy=wasabi-uploads]");
        var money = CultureInfo.GetCultureInfo("en-US");
        await Assertions.Expect(row.Locator(".provider")).ToHaveTextAsync("wasabi");
        await Assertions.Expect(row.Locator(".cost-now")).ToHaveTextAsync(perMonth.ToString("N2", money));
        await Assertions.Expect(row.Locator(".saves-now")).ToHaveTextAsync("0.00 (0 B)");
        await Assertions.Expect(row.Locator(".saves-later")).ToHaveTextAsync($"{later.ToString("N2", money)} (3.9 KB)");
        await Assertions.Expect(row.Locator(".saves-from")).ToHaveTextAsync(cost["saves_from"]!.GetValue<DateTimeOffset>().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#costs tr[data-store=media]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#cost-warnings .cost-warning", new() { HasText = "each copy starts a new 90d minimum" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#cost-warnings .cost-warning", new() { HasText = "saves nothing until" })).ToHaveCountAsync(1);
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(shots);
        await page.Locator("#cost-section").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(shots, "cost-card.png") });
        errors.Should().BeEmpty();
    }
}
