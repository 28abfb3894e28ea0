using System.Globalization;

namespace Reclaim.Server.Scheduling;

/// <summary>Converts the 5-field Unix cron of <c>schedule[].cron</c> to Quartz's form with seconds.</summary>
public static class CronExpressions
{
    /// <summary>
    /// <c>m h dom mon dow</c> becomes <c>0 m h dom mon dow</c>, with Quartz's <c>?</c> in whichever of
    /// day-of-month and day-of-week is <c>*</c>, and numeric weekdays moved from Unix's 0–7 (Sunday 0 or 7) to
    /// Quartz's 1–7 (Sunday 1). Expressions of 6 or 7 fields are Quartz's own and are returned unchanged.
    /// </summary>
    /// <param name="cron">The expression.</param>
    /// <returns>A Quartz cron expression.</returns>
    /// <exception cref="FormatException">
    /// Not 5–7 fields, or both day-of-month and day-of-week restricted (Unix ORs them; Quartz cannot express that).
    /// </exception>
    public static string ToQuartz(string cron)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (fields.Length is 6 or 7)
        {
            return string.Join(' ', fields);
        }

        if (fields.Length != 5)
        {
            throw new FormatException($"'{cron}' has {fields.Length} fields: write 5 (minute hour day month weekday)");
        }

        var (minute, hour, day, month, weekday) = (fields[0], fields[1], fields[2], fields[3], fields[4]);
        if (weekday is "*" or "?")
        {
            weekday = "?";
        }
        else if (day is "*" or "?")
        {
            day = "?";
            weekday = Weekdays(weekday);
        }
        else
        {
            throw new FormatException($"'{cron}' restricts both the day of the month and the weekday, which Quartz cannot combine: keep one of them '*'");
        }

        return $"0 {minute} {hour} {day} {month} {weekday}";
    }

    /// <summary>Shifts every number of a weekday field (lists, ranges, steps' bases) by one: Unix 0/7 = Sunday = Quartz 1.</summary>
    private static string Weekdays(string field) => string.Join(',', field.Split(',').Select(part =>
    {
        var step = part.IndexOf('/', StringComparison.Ordinal);
        var range = step < 0 ? part : part[..step];
        var suffix = step < 0 ? string.Empty : part[step..];
        var shifted = string.Join('-', range.Split('-').Select(Shift));
        return shifted + suffix;
    }));

    private static string Shift(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var day) && day is >= 0 and <= 7
            ? ((day % 7) + 1).ToString(CultureInfo.InvariantCulture)
            : value;
}
