using Microsoft.Playwright;

namespace Reclaim.Server.Tests;

/// <summary>
/// The dashboard in headless Debian Chromium at 1400 and 800 px wide: it shows who is signed in with which role,
/// offers only what that role may do, shows the schedule's next firings in each entry's zone and in UTC, and fits the
/// window. Screenshots land in the test output's <c>screenshots/</c> folder (the ones in <c>docs/screenshots/</c> are
/// copies of them).
/// </summary>
public sealed class DashboardRoleBrowserTests(RoleMapServer server) : IClassFixture<RoleMapServer>
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly ServerHost _host = server.Host;

    [Theory]
    [InlineData(1400)]
    [InlineData(800)]
    public async Task Dashboard_ShowsWhoIsSignedIn_OffersOnlyWhatTheRoleMayDo_AndTheSchedule(int width)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (scripts/test.sh does)");
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(shots);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        // An operator key: dry runs yes, real runs no; the schedule with its next firings.
        await SignInAsync(page, ServerHost.Keys["operator"]);
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("Signed in as operator (API key)");
        await Assertions.Expect(page.Locator("#who .role")).ToHaveTextAsync("operator");
        await Assertions.Expect(page.Locator("#dry-run")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#real-run")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#role-note")).ToContainTextAsync("a real run needs admin");
        var tbilisi = page.Locator("#schedule tr[data-entry='0']");
        await Assertions.Expect(tbilisi.Locator(".zone")).ToHaveTextAsync("Asia/Tbilisi");
        await Assertions.Expect(tbilisi.Locator(".firing")).ToHaveCountAsync(3);
        await Assertions.Expect(tbilisi.Locator(".firing").First).ToContainTextAsync("03:00 +04:00");
        await Assertions.Expect(tbilisi.Locator(".firing").First).ToContainTextAsync("23:00 UTC");
        await Assertions.Expect(page.Locator("#schedule tr[data-entry='1'] .firing").First).ToContainTextAsync("12:30 UTC");
        await page.ClickAsync("#dry-run");
        await Assertions.Expect(page.Locator("#run-message")).ToContainTextAsync("succeeded");
        await Assertions.Expect(page.Locator("#plan-table")).ToContainTextAsync("uploads/gone0/");
        (await FitsTheWindowAsync(page)).Should().BeTrue($"nothing may stick out of a {width} px window");
        (await page.EvaluateAsync<int>("""
            () => { const range = document.createRange(); range.selectNodeContents(document.querySelector("#runs td.run-id")); return range.getClientRects().length; }
            """)).Should().Be(1, "a run id is never wrapped");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"dashboard-operator-{width}.png"), FullPage = true });
        await SignOutAsync(page);

        // The application's therapist: an operator by role_map, named with its application role.
        await SignInAsync(page, ServerHost.Jwt("therapist", DateTimeOffset.UtcNow.AddHours(1)));
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("Signed in as user-therapist (JWT, application role therapist)");
        await Assertions.Expect(page.Locator("#who .role")).ToHaveTextAsync("operator");
        await Assertions.Expect(page.Locator("#real-run")).ToBeHiddenAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"dashboard-therapist-{width}.png"), FullPage = true });
        await SignOutAsync(page);

        // A viewer starts nothing; an admin may do everything.
        await SignInAsync(page, ServerHost.Keys["viewer"]);
        await Assertions.Expect(page.Locator("#who .role")).ToHaveTextAsync("viewer");
        await Assertions.Expect(page.Locator("#run-section")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#schedule-section")).ToBeVisibleAsync();
        await SignOutAsync(page);
        await SignInAsync(page, ServerHost.Keys["admin"]);
        await Assertions.Expect(page.Locator("#who .role")).ToHaveTextAsync("admin");
        await Assertions.Expect(page.Locator("#real-run")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#role-note")).ToBeEmptyAsync();
        (await FitsTheWindowAsync(page)).Should().BeTrue($"nothing may stick out of a {width} px window");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"dashboard-admin-{width}.png"), FullPage = true });
        await SignOutAsync(page);

        // A patient has no Reclaim role: the page says so and why, and shows nothing else.
        await page.FillAsync("#token", ServerHost.Jwt("patient", DateTimeOffset.UtcNow.AddHours(1)));
        await page.ClickAsync("#sign-in-form button");
        await Assertions.Expect(page.Locator("#sign-in-error")).ToContainTextAsync("'patient' maps to none");
        await Assertions.Expect(page.Locator("#app")).ToBeHiddenAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, $"dashboard-patient-{width}.png"), FullPage = true });
        errors.Should().BeEmpty();
    }

    private async Task SignInAsync(IPage page, string token)
    {
        await page.GotoAsync(_host.Address.ToString());
        await page.FillAsync("#token", token);
        await page.ClickAsync("#sign-in-form button");
        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#schedule tbody tr").First).ToBeVisibleAsync();
    }

    private static async Task SignOutAsync(IPage page)
    {
        await page.ClickAsync("#sign-out");
        await Assertions.Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
    }

    private static Task<bool> FitsTheWindowAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth");
}
