using System.Net;
using System.Net.Sockets;

namespace Reclaim.Testing;

/// <summary>Finds TCP ports on the loopback interface for test services.</summary>
public static class FreePort
{
    /// <summary>
    /// A port on 127.0.0.1 that nothing listened on a moment ago. Another process may take it before the
    /// service binds it: callers that start a service retry with a new port when binding fails.
    /// </summary>
    /// <returns>The port number.</returns>
    public static int Find()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
