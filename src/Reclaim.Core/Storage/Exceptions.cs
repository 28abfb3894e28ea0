namespace Reclaim.Core.Storage;

/// <summary>A key that is not valid for a store: empty, absolute, with <c>..</c>, NUL, a backslash, or too long.</summary>
public sealed class InvalidKeyException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The rejected key (as given).</param>
    /// <param name="reason">Why it is rejected, in words.</param>
    public InvalidKeyException(string key, string reason)
        : base($"invalid key '{ObjectKey.Printable(key)}': {reason}")
    {
        Key = key;
    }

    /// <summary>The rejected key.</summary>
    public string Key { get; }
}

/// <summary>The destination of a move already exists; nothing was overwritten.</summary>
/// <param name="key">The existing key.</param>
public sealed class ObjectExistsException(string key) : IOException($"an object already exists at '{ObjectKey.Printable(key)}'")
{
    /// <summary>The existing key.</summary>
    public string Key { get; } = key;
}

/// <summary>No object has the given key.</summary>
/// <param name="key">The missing key.</param>
public sealed class ObjectNotFoundException(string key) : IOException($"no object at '{ObjectKey.Printable(key)}'")
{
    /// <summary>The missing key.</summary>
    public string Key { get; } = key;
}
