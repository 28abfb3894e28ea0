using Microsoft.Playwright;

namespace Reclaim.Server.Tests;

/// <summary>Debian's Chromium (<c>/usr/bin/chromium</c>; never a downloaded browser), headless, with the flags the test machines need.</summary>
public static class HeadlessChromium
{
    /// <summary>The browser's path.</summary>
    public const string Path = "/usr/bin/chromium";

    /// <summary>Launches it; fails the test with how to install it when it is missing.</summary>
    /// <param name="playwright">Playwright.</param>
    /// <returns>The browser; the caller disposes it.</returns>
    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(Path), $"{Path} is missing: apt-get install -y chromium (scripts/test.sh does)");
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        });
    }
}
