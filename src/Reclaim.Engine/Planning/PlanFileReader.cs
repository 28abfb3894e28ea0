using System.Buffers;
using System.Text.Json;
using Reclaim.Core.Planning;

namespace Reclaim.Engine.Planning;

/// <summary>
/// Reads a plan file as a stream of JSON tokens (<see cref="Utf8JsonReader"/> over a buffer refilled from the file),
/// so that a plan of millions of proposed groups or rows is never held whole: each policy's <c>groups</c> are read one
/// group at a time into a <see cref="PlannedGroups"/> that keeps its first groups in memory and spools the rest to
/// disk, as the planner does, and a records policy's <c>rows</c> likewise into a <see cref="SpooledSequence{T}"/> of
/// rows. Everything else of the plan (its totals, guards, warnings) is read as <see cref="JsonSerializer"/> reads it,
/// with the same options, so the plan read is the plan written.
/// </summary>
/// <remarks>
/// Memory: the buffer holds at least the largest single value read at once (one group with its objects, or a
/// policy without its groups and rows), 64 KiB to start with, and the groups and rows in memory (<c>groupsInMemory</c>,
/// <c>rowsInMemory</c>).
/// </remarks>
internal sealed class PlanFileReader
{
    private const int InitialBuffer = 1 << 16;

    private const string FormatVersionName = "format_version";
    private const string PlanName = "plan";
    private const string PoliciesName = "policies";
    private const string GroupsName = "groups";
    private const string RowsName = "rows";

    private readonly Stream _stream;
    private readonly string _spillDirectory;
    private readonly int _groupsInMemory;
    private readonly int _rowsInMemory;
    private readonly JsonSerializerOptions _options;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
    private int _start;
    private int _end;
    private bool _final;
    private JsonReaderState _state;

    /// <summary>Prepares to read <paramref name="stream"/>.</summary>
    /// <param name="stream">The plan file, read from its start.</param>
    /// <param name="options">The JSON options of plan files.</param>
    /// <param name="spillDirectory">Where groups beyond the first <paramref name="groupsInMemory"/> of a policy are spooled.</param>
    /// <param name="groupsInMemory">Groups held in memory per policy, 0 or more.</param>
    /// <param name="rowsInMemory">Rows of a records policy held in memory, 0 or more; the rest are spooled to <paramref name="spillDirectory"/> too.</param>
    public PlanFileReader(Stream stream, JsonSerializerOptions options, string spillDirectory, int groupsInMemory, int rowsInMemory)
    {
        _rowsInMemory = rowsInMemory;
        _stream = stream;
        _options = options;
        _spillDirectory = spillDirectory;
        _groupsInMemory = groupsInMemory;
        _state = new JsonReaderState(new JsonReaderOptions { CommentHandling = options.ReadCommentHandling, MaxDepth = options.MaxDepth, AllowTrailingCommas = options.AllowTrailingCommas });
    }

    /// <summary>Reads the document: its format version and its plan (either may be missing).</summary>
    /// <param name="cancellationToken">Checked between groups.</param>
    /// <returns>
    /// The format version (0 when missing), whether a <c>plan</c> was there, and the plan (<see langword="null"/> when
    /// missing, <c>null</c>, or not read because the format version read before it is another).
    /// </returns>
    /// <exception cref="JsonException">The file is not JSON, or not of a plan's shape.</exception>
    public (int FormatVersion, bool HasPlan, Plan? Plan) Read(CancellationToken cancellationToken)
    {
        try
        {
            var version = 0;
            var hasPlan = false;
            Plan? plan = null;
            Expect(Next(), JsonTokenType.StartObject);
            while (Next() is var token && token.Type == JsonTokenType.PropertyName)
            {
                if (token.Is(FormatVersionName))
                {
                    version = Deserialize<int>();
                }
                else if (token.Is(PlanName) && version is 0 or Plan.FormatVersion)
                {
                    plan = ReadPlan(cancellationToken);
                    hasPlan = plan is not null;
                }
                else if (token.Is(PlanName))
                {
                    hasPlan = Peek() != JsonTokenType.Null;
                    Skip();
                }
                else
                {
                    Skip();
                }
            }

            return (version, hasPlan, plan);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private Plan? ReadPlan(CancellationToken cancellationToken)
    {
        if (Peek() == JsonTokenType.Null)
        {
            Skip();
            return null;
        }

        var policies = new List<PolicyPlan>();
        var plan = ReadObject<Plan>(new Dictionary<string, Action>(StringComparer.Ordinal) { [PoliciesName] = () => policies.Add(ReadPolicy(cancellationToken)) })
            ?? throw new JsonException("the plan is null");
        plan.Policies.AddRange(policies);
        return plan;
    }

    private PolicyPlan ReadPolicy(CancellationToken cancellationToken)
    {
        PlannedGroups? groups = null;
        SpooledSequence<PlannedRow>? rows = null;
        var arrays = new Dictionary<string, Action>(StringComparer.Ordinal)
        {
            [GroupsName] = () =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                groups ??= new PlannedGroups(new SpilledGroupSpool(_spillDirectory), _groupsInMemory);
                groups.Add(Deserialize<PlannedGroup>() ?? throw new JsonException("a planned group is null"));
            },
            [RowsName] = () =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows ??= new SpooledSequence<PlannedRow>(new SpilledRowSpool(_spillDirectory), _rowsInMemory);
                rows.Add(Deserialize<PlannedRow>() ?? throw new JsonException("a planned row is null"));
            },
        };
        var policy = ReadObject<PolicyPlan>(arrays) ?? throw new JsonException("a policy's plan is null");
        policy.Groups = groups ?? policy.Groups;
        policy.Rows = rows ?? policy.Rows;
        return policy;
    }

    /// <summary>
    /// Reads an object whose arrays named in <paramref name="arrays"/> are read item by item by the action of their
    /// name, and whose other properties are read by the serializer as <typeparamref name="T"/> (copied as written into a
    /// small document of their own).
    /// </summary>
    private T? ReadObject<T>(Dictionary<string, Action> arrays)
    {
        var rest = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(rest))
        {
            writer.WriteStartObject();
            Expect(Next(), JsonTokenType.StartObject);
            while (Next() is var token && token.Type == JsonTokenType.PropertyName)
            {
                if (arrays.TryGetValue(token.Name, out var readItem) && Peek() == JsonTokenType.StartArray)
                {
                    Next();
                    while (Peek() != JsonTokenType.EndArray)
                    {
                        readItem();
                    }

                    Next();
                    continue;
                }

                writer.WritePropertyName(token.Name);
                writer.WriteRawValue(RawValue(), skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return JsonSerializer.Deserialize<T>(rest.WrittenSpan, _options);
    }

    private static void Expect(Token token, JsonTokenType type)
    {
        if (token.Type != type)
        {
            throw new JsonException($"expected {type}, found {token.Type}");
        }
    }

    /// <summary>The next token, consumed; a property's name comes with it.</summary>
    private Token Next()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                var token = new Token(reader.TokenType, reader.TokenType == JsonTokenType.PropertyName ? reader.GetString()! : string.Empty);
                Commit(ref reader);
                return token;
            }

            Refill();
        }
    }

    /// <summary>The next token's type, not consumed.</summary>
    private JsonTokenType Peek()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                return reader.TokenType;
            }

            Refill();
        }
    }

    /// <summary>The next value, read by the serializer once the buffer holds all of it.</summary>
    private T? Deserialize<T>()
    {
        while (true)
        {
            var reader = Reader();
            var probe = reader;
            if (probe.Read() && probe.TrySkip())
            {
                reader.Read();
                var value = JsonSerializer.Deserialize<T>(ref reader, _options);
                Commit(ref reader);
                return value;
            }

            Refill();
        }
    }

    /// <summary>The next value's bytes as written, consumed.</summary>
    private byte[] RawValue()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                var from = (int)reader.TokenStartIndex;
                if (reader.TrySkip())
                {
                    var raw = _buffer.AsSpan(_start + from, (int)reader.BytesConsumed - from).ToArray();
                    Commit(ref reader);
                    return raw;
                }
            }

            Refill();
        }
    }

    private void Skip() => RawValue();

    private Utf8JsonReader Reader() => new(_buffer.AsSpan(_start, _end - _start), _final, _state);

    private void Commit(ref Utf8JsonReader reader)
    {
        _start += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    /// <summary>Reads more of the file after what is left unconsumed, growing the buffer when it is full.</summary>
    /// <exception cref="JsonException">The file ended inside a value.</exception>
    private void Refill()
    {
        if (_final)
        {
            throw new JsonException("the file ends inside the plan");
        }

        var left = _end - _start;
        if (left == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(_start, left).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, left).CopyTo(_buffer);
        }

        (_start, _end) = (0, left);
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        _end += read;
        _final = read == 0;
    }

    private readonly record struct Token(JsonTokenType Type, string Name)
    {
        public bool Is(string name) => Type == JsonTokenType.PropertyName && string.Equals(Name, name, StringComparison.Ordinal);
    }
}
