using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Reclaim.Server.Tests;

/// <summary>
/// The dashboard in headless Debian Chromium (<c>/usr/bin/chromium</c>; never a downloaded browser): sign in, see
/// usage, start a dry run and read its plan, run a quarantine, restore it from the run's trash. Screenshots of each
/// step are saved under the test output's <c>screenshots/</c> folder.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Dashboard_SignInDryRunQuarantineRestore()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (scripts/test.sh does)");
        await using var host = await ServerHost.StartAsync(pricePerGbMonth: 1_000_000m);
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(shots);
        var before = host.StoreKeys();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1000 } });
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(host.Address.ToString());
        await page.FillAsync("#token", "rcl_wrong");
        await page.ClickAsync("#sign-in-form button");
        await Assertions.Expect(page.Locator("#sign-in-error")).ToContainTextAsync("not accepted");

        await page.FillAsync("#token", ServerHost.Keys["admin"]);
        await page.ClickAsync("#sign-in-form button");
        var media = page.Locator("#stores tr[data-store=media]");
        await Assertions.Expect(media.Locator(".objects")).ToHaveTextAsync((10 + (ServerHost.OrphanGroups * 2)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(media.Locator(".reclaimable")).Not.ToHaveTextAsync("0 B");
        // Top tenants: the layout's only variable, most reclaimable first (an orphan group, then the live ones).
        await Assertions.Expect(page.Locator("#tenants-value")).ToHaveTextAsync("asset");
        await Assertions.Expect(page.Locator("#tenants tbody tr").First).ToHaveAttributeAsync("data-tenant", "gone1");
        await Assertions.Expect(page.Locator("#tenants tbody tr").First.Locator(".reclaimable")).ToHaveTextAsync("5.2 KB");
        var usage = (await host.As("viewer").GetFromJsonAsync<JsonObject>("api/v1/usage"))!;
        var cost = usage["stores"]![0]!["cost_per_month"]!.GetValue<decimal>();
        cost.Should().BeGreaterThan(0);
        await Assertions.Expect(media.Locator(".cost")).ToHaveTextAsync(cost.ToString("N2", CultureInfo.GetCultureInfo("en-US")));
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await Assertions.Expect(page.Locator("#reclaimed-chart svg rect.bar")).ToHaveCountAsync(30);
        await Assertions.Expect(page.Locator($"#reclaimed-chart rect.bar[data-day='{today}']")).ToHaveAttributeAsync("data-bytes", "0");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "1-usage.png"), FullPage = true });

        await page.ClickAsync("#dry-run");
        await Assertions.Expect(page.Locator("#run-message")).ToContainTextAsync("succeeded");
        await Assertions.Expect(page.Locator("#plan-table")).ToContainTextAsync("uploads/gone0/");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "2-dry-run-plan.png"), FullPage = true });
        host.StoreKeys().Should().BeEquivalentTo(before, "a dry run touches nothing");

        await page.ClickAsync("#real-run");
        await Assertions.Expect(page.Locator("#run-message")).ToContainTextAsync("succeeded");
        host.StoreKeys().Should().NotContain(k => k.StartsWith("uploads/gone", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator($"#reclaimed-chart rect.bar[data-day='{today}']"))
            .ToHaveAttributeAsync("data-bytes", host.OrphanBytes.ToString(CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("#reclaimed-total")).ToContainTextAsync($"{ServerHost.OrphanGroups * 2} objects");
        await page.Locator("#reclaimed-chart").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(shots, "3-reclaimed-chart.png") });
        var runId = (await page.Locator("#run-message").TextContentAsync())!.Split(' ')[1];
        await page.ClickAsync($"#runs tr[data-run='{runId}'] button");
        await Assertions.Expect(page.Locator("#actions")).ToContainTextAsync("quarantine");
        await Assertions.Expect(page.Locator("#actions tbody tr")).ToHaveCountAsync(ServerHost.OrphanGroups * 2);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "4-quarantine-actions.png"), FullPage = true });

        await page.ClickAsync("#restore");
        await Assertions.Expect(page.Locator("#restore-message")).ToContainTextAsync($"Restored: {ServerHost.OrphanGroups * 2} objects");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "5-restored.png"), FullPage = true });
        host.StoreKeys().Should().BeEquivalentTo(before);

        // The queue panel: a request enqueued through the API is drained by the server's worker and the panel shows the queue.
        using var enqueued = await host.As("operator").PostAsJsonAsync("api/v1/deletions", new { store = "media", keys = new[] { "uploads/gone0/video.mp4" } });
        enqueued.StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        var id = (await enqueued.Content.ReadFromJsonAsync<JsonObject>())!["ids"]![0]!.GetValue<long>();
        (await ServerHost.WaitForRequestAsync(host.As("viewer"), id))["status"]!.GetValue<string>().Should().Be("processed");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#queue-worker")).ToContainTextAsync("This server's worker drains");
        await Assertions.Expect(page.Locator("#queue tr[data-queue=reclaim] .depth")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#queue tr[data-queue=reclaim] .failures")).ToHaveTextAsync("none");
        await Assertions.Expect(page.Locator("#runs tbody tr", new() { HasText = "queue" })).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "6-queue.png"), FullPage = true });
        errors.Should().BeEmpty();
    }
}
