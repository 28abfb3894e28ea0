using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Reclaim.Core;
using Reclaim.Stores.S3;

namespace Reclaim.Engine.Configuration;

/// <summary>
/// An <c>s3</c> store's settings: bound onto <see cref="S3StoreOptions"/>, whose properties declare the keys
/// (<see cref="DisplayAttribute.Name"/>), types and ranges; validated by <see cref="OptionsValidation"/>, each
/// problem reported at its key's position.
/// </summary>
internal sealed partial class ConfigBinder
{
    private static readonly string[] InventoryKeys = ["manifest"];

    /// <summary>Every key of an s3 store's options, in declaration order, with the property it sets.</summary>
    internal static IReadOnlyList<(string Key, PropertyInfo Property)> S3OptionKeys => S3OptionBinding.Keys;

    private S3StoreOptions? ReadS3Options(string name, ConfigSection section)
    {
        var errorsBefore = reader.Errors.Count;
        var options = new S3StoreOptions { Name = name, Bucket = string.Empty };
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, property) in S3OptionKeys)
        {
            if (section.Value(key) is null)
            {
                continue;
            }

            var errors = reader.Errors.Count;
            var value = ReadOption(section, key, property);
            if (reader.Errors.Count > errors || value is null)
            {
                unreadable.Add(property.Name);
                continue;
            }

            // Init-only setters are ordinary setters to reflection: the binder builds the record once, here.
            property.SetValue(options, value);
        }

        if (ReadInventory(section) is { } manifest)
        {
            options = options with { InventoryManifest = manifest };
        }

        foreach (var result in OptionsValidation.Validate(options))
        {
            var member = result.MemberNames.FirstOrDefault() ?? string.Empty;
            if (unreadable.Contains(member))
            {
                continue; // already reported as unreadable
            }

            var key = S3OptionKeys.FirstOrDefault(o => o.Property.Name == member).Key ?? "type";
            var message = result.ErrorMessage ?? "is invalid";
            if (message.StartsWith(key + " ", StringComparison.Ordinal))
            {
                message = message[(key.Length + 1)..];
            }

            // A range ("must be from 1s to 1h") shows what was written; other messages say it themselves, and a
            // secret is never echoed.
            var text = (section.Value(key) as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value;
            section.Error(key, text is not null && message.StartsWith("must ", StringComparison.Ordinal) ? $"{message}, found '{text}'" : message);
        }

        if (reader.Errors.Count == errorsBefore && options.Prefix.Length > 0 && !options.Prefix.EndsWith('/'))
        {
            section.Error("prefix", $"'{Core.Storage.ObjectKey.Printable(options.Prefix)}' must end with '/' so it names a folder (write '{Core.Storage.ObjectKey.Printable(options.Prefix)}/')");
        }

        return reader.Errors.Count == errorsBefore ? options : null;
    }

    /// <summary>
    /// <c>inventory: {manifest: s3://bucket/…/manifest.json | path}</c>: the S3 Inventory plans list instead of the
    /// bucket (<see cref="S3StoreOptions.InventoryManifest"/>); a path is resolved against the config's folder.
    /// </summary>
    private string? ReadInventory(ConfigSection section)
    {
        if (section.Section("inventory") is not { } inventory)
        {
            return null;
        }

        inventory.CheckKeys(InventoryKeys);
        if (inventory.String("manifest", "an S3 Inventory's manifest.json, as s3://bucket/prefix/…/manifest.json or a path") is not { } manifest)
        {
            return null;
        }

        if (manifest.StartsWith("s3://", StringComparison.Ordinal))
        {
            if (S3Store.ParseS3Url(manifest) is null)
            {
                inventory.Error("manifest", $"'{manifest}' names no object: write s3://bucket/prefix/…/manifest.json");
                return null;
            }

            return manifest;
        }

        if (manifest.Contains("://", StringComparison.Ordinal))
        {
            inventory.Error("manifest", $"'{manifest}' is neither an s3:// URL nor a path: write s3://bucket/prefix/…/manifest.json or a file's path");
            return null;
        }

        return ResolvePath(manifest);
    }

    /// <summary>Reads one key as its property's type; <see langword="null"/> (with an error) when it cannot be read.</summary>
    private static object? ReadOption(ConfigSection section, string key, PropertyInfo property)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var range = property.GetCustomAttribute<RangeAttribute>();
        if (type == typeof(string))
        {
            return section.String(key);
        }

        if (type == typeof(bool))
        {
            return section.Bool(key);
        }

        if (type == typeof(int))
        {
            // The range goes to the reader so that "many" and "50" get the same "a whole number from 1 to 20".
            var (min, max) = range is null ? (int.MinValue, int.MaxValue) : (Convert.ToInt64(range.Minimum, System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
            return section.Integer(key, min, max) is { } value ? (int)value : null;
        }

        if (type == typeof(TimeSpan))
        {
            var minimum = range?.Minimum switch
            {
                TimeSpan value => value,
                string text => TimeSpan.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
                _ => TimeSpan.Zero,
            };
            return section.Duration(key, positive: minimum > TimeSpan.Zero);
        }

        throw new NotSupportedException($"S3StoreOptions.{property.Name} has a type the config binder cannot read: {property.PropertyType}");
    }

    /// <summary>The options' keys, found once.</summary>
    private static class S3OptionBinding
    {
        public static readonly IReadOnlyList<(string Key, PropertyInfo Property)> Keys =
        [
            .. typeof(S3StoreOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttribute<DisplayAttribute>()?.Name is not null && p.CanWrite)
                .OrderBy(p => p.MetadataToken)
                .Select(p => (p.GetCustomAttribute<DisplayAttribute>()!.Name!, p)),
        ];
    }
}
