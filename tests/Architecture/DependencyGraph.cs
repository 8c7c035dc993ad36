using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Architecture;

/// <summary>
/// The dependency graph of one compiled assembly, read from its metadata: which of its own top-level types each of
/// its types uses, through base types, interfaces, fields, properties, events, method signatures, generic
/// constraints, attributes and every token in every method body (calls, field loads, casts, typeof, locals).
/// Compiler-made types (closures, state machines, lambdas' classes) count as their outermost declaring type, so an
/// async method's body is charged to the type that wrote it. Types outside the root namespace (source generators'
/// helpers, anonymous types) are left out. Shared by both test projects (linked source).
/// </summary>
internal sealed class DependencyGraph
{
    private DependencyGraph(string root, ImmutableDictionary<string, ImmutableHashSet<string>> types,
        ImmutableDictionary<string, ImmutableArray<string>> files)
    {
        Root = root;
        TypeEdges = types;
        Files = files;
    }

    /// <summary>The root namespace: only types in it or under it are nodes.</summary>
    public string Root { get; }

    /// <summary>Full name of each top-level type to the top-level types it uses (itself excluded).</summary>
    public ImmutableDictionary<string, ImmutableHashSet<string>> TypeEdges { get; }

    /// <summary>Full name of each top-level type to the source files its methods were compiled from (from the PDB).</summary>
    public ImmutableDictionary<string, ImmutableArray<string>> Files { get; }

    public static string NamespaceOf(string fullName)
    {
        int dot = fullName.LastIndexOf('.');
        return dot < 0 ? "" : fullName[..dot];
    }

    /// <summary>Namespace to the namespaces it uses (itself excluded).</summary>
    public ImmutableDictionary<string, ImmutableHashSet<string>> NamespaceEdges()
    {
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (type, uses) in TypeEdges)
        {
            var from = NamespaceOf(type);
            var set = edges.TryGetValue(from, out var s) ? s : edges[from] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var used in uses)
            {
                var to = NamespaceOf(used);
                if (to != from)
                {
                    set.Add(to);
                }
            }
        }
        return edges.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutableHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    /// <summary>Why <paramref name="source"/> uses <paramref name="target"/>: the type pairs behind the edge.</summary>
    public IEnumerable<string> Reasons(string source, string target) =>
        TypeEdges.Where(t => NamespaceOf(t.Key) == source)
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .SelectMany(t => t.Value.Where(u => NamespaceOf(u) == target).Order(StringComparer.Ordinal)
                .Select(u => Short(t.Key) + " -> " + Short(u)));

    private static string Short(string fullName) => fullName[(fullName.LastIndexOf('.') + 1)..];

    /// <summary>
    /// The strongly connected components of more than one node (Tarjan), each a cycle: its members in order,
    /// smallest name first, so a failure message is stable.
    /// </summary>
    public static ImmutableArray<ImmutableArray<string>> Cycles(IReadOnlyDictionary<string, ImmutableHashSet<string>> edges)
    {
        var nodes = edges.Keys.Concat(edges.Values.SelectMany(v => v)).Distinct().Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var onStack = new HashSet<string>();
        var stack = new Stack<string>();
        var result = ImmutableArray.CreateBuilder<ImmutableArray<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in (edges.TryGetValue(v, out var ws) ? ws : []).Order(StringComparer.Ordinal))
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    result.Add([.. component.Order(StringComparer.Ordinal)]);
                }
            }
        }

        foreach (var n in nodes)
        {
            if (!index.ContainsKey(n))
            {
                Visit(n);
            }
        }
        return result.ToImmutable();
    }

    /// <summary>One path round a cycle's members (a shortest cycle through its first member), for the message.</summary>
    public static ImmutableArray<string> Loop(IReadOnlyDictionary<string, ImmutableHashSet<string>> edges, ImmutableArray<string> component)
    {
        var inside = component.ToHashSet();
        var start = component[0];
        var parent = new Dictionary<string, string>();
        var queue = new Queue<string>();
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in (edges.TryGetValue(v, out var ws) ? ws : []).Order(StringComparer.Ordinal))
            {
                if (!inside.Contains(w))
                {
                    continue;
                }
                if (w == start)
                {
                    var path = new List<string> { start };
                    for (var at = v; at != start; at = parent[at])
                    {
                        path.Add(at);
                    }
                    path.Add(start);
                    path.Reverse();
                    return [.. path];
                }
                if (parent.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }
        return component;
    }

    public static DependencyGraph Read(string assemblyPath, string root)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var collector = new Collector(md);

        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var handle in md.TypeDefinitions)
        {
            var owner = collector.TopName(handle);
            if (owner is null)
            {
                continue;
            }
            var set = edges.TryGetValue(owner, out var s) ? s : edges[owner] = new HashSet<string>(StringComparer.Ordinal);
            collector.Found.Clear();
            collector.TypeUses(handle, pe);
            foreach (var used in collector.Found)
            {
                var name = collector.TopName(used);
                if (name is not null && name != owner && InRoot(name, root))
                {
                    set.Add(name);
                }
            }
        }
        var kept = edges.Where(kv => InRoot(kv.Key, root))
            .ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutableHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        return new DependencyGraph(root, kept, ReadFiles(assemblyPath, md, collector, root));
    }

    private static bool InRoot(string fullName, string root) =>
        fullName.StartsWith(root + ".", StringComparison.Ordinal) && !fullName.Contains('<');

    private static ImmutableDictionary<string, ImmutableArray<string>> ReadFiles(string assemblyPath, MetadataReader md, Collector collector, string root)
    {
        var pdbPath = Path.ChangeExtension(assemblyPath, ".pdb");
        if (!File.Exists(pdbPath))
        {
            return ImmutableDictionary<string, ImmutableArray<string>>.Empty;
        }
        using var pdbStream = File.OpenRead(pdbPath);
        using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
        var pdb = provider.GetMetadataReader();
        var files = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var owner = collector.TopName(typeHandle);
            if (owner is null || !InRoot(owner, root))
            {
                continue;
            }
            foreach (var method in md.GetTypeDefinition(typeHandle).GetMethods())
            {
                var info = pdb.GetMethodDebugInformation(method.ToDebugInformationHandle());
                if (info.Document.IsNil && info.SequencePointsBlob.IsNil)
                {
                    continue;
                }
                foreach (var point in info.GetSequencePoints())
                {
                    var name = pdb.GetString(pdb.GetDocument(point.Document).Name);
                    if (name.EndsWith(".cs", StringComparison.Ordinal) && !name.Contains("/obj/", StringComparison.Ordinal))
                    {
                        (files.TryGetValue(owner, out var f) ? f : files[owner] = new SortedSet<string>(StringComparer.Ordinal)).Add(name);
                    }
                }
            }
        }
        return files.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutableArray(), StringComparer.Ordinal);
    }

    /// <summary>Walks one type's metadata and method bodies, adding every type definition it meets to <see cref="Found"/>.</summary>
    private sealed class Collector(MetadataReader md) : ISignatureTypeProvider<int, object?>
    {
        public HashSet<TypeDefinitionHandle> Found { get; } = [];

        private Dictionary<string, TypeDefinitionHandle> ByName { get; } = md.TypeDefinitions
            .Where(t => md.GetTypeDefinition(t).GetDeclaringType().IsNil && md.GetTypeDefinition(t).Namespace is { IsNil: false })
            .GroupBy(t => md.GetString(md.GetTypeDefinition(t).Namespace) + "." + md.GetString(md.GetTypeDefinition(t).Name))
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        public string? TopName(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            while (type.GetDeclaringType() is { IsNil: false } outer)
            {
                type = md.GetTypeDefinition(outer);
            }
            var ns = md.GetString(type.Namespace);
            var name = md.GetString(type.Name);
            int tick = name.IndexOf('`');
            if (tick >= 0)
            {
                name = name[..tick];
            }
            return ns.Length == 0 ? null : ns + "." + name;
        }

        public void TypeUses(TypeDefinitionHandle handle, PEReader pe)
        {
            var type = md.GetTypeDefinition(handle);
            Handle(type.BaseType);
            foreach (var i in type.GetInterfaceImplementations())
            {
                var impl = md.GetInterfaceImplementation(i);
                Handle(impl.Interface);
                Attributes(impl.GetCustomAttributes());
            }
            Attributes(type.GetCustomAttributes());
            GenericParameters(type.GetGenericParameters());
            foreach (var f in type.GetFields())
            {
                var field = md.GetFieldDefinition(f);
                field.DecodeSignature(this, null);
                Attributes(field.GetCustomAttributes());
            }
            foreach (var p in type.GetProperties())
            {
                var property = md.GetPropertyDefinition(p);
                property.DecodeSignature(this, null);
                Attributes(property.GetCustomAttributes());
            }
            foreach (var e in type.GetEvents())
            {
                var ev = md.GetEventDefinition(e);
                Handle(ev.Type);
                Attributes(ev.GetCustomAttributes());
            }
            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                method.DecodeSignature(this, null);
                Attributes(method.GetCustomAttributes());
                GenericParameters(method.GetGenericParameters());
                foreach (var p in method.GetParameters())
                {
                    Attributes(md.GetParameter(p).GetCustomAttributes());
                }
                if (method.RelativeVirtualAddress != 0)
                {
                    Body(pe.GetMethodBody(method.RelativeVirtualAddress));
                }
            }
        }

        private void GenericParameters(GenericParameterHandleCollection parameters)
        {
            foreach (var g in parameters)
            {
                var parameter = md.GetGenericParameter(g);
                foreach (var c in parameter.GetConstraints())
                {
                    Handle(md.GetGenericParameterConstraint(c).Type);
                }
                Attributes(parameter.GetCustomAttributes());
            }
        }

        private void Attributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes)
            {
                var attribute = md.GetCustomAttribute(a);
                Handle(attribute.Constructor);
                // typeof(X) arguments are stored as names in the blob: a type of ours named there is a use.
                var blob = md.GetBlobReader(attribute.Value);
                if (blob.Length < 8)
                {
                    continue;
                }
                var text = System.Text.Encoding.UTF8.GetString(blob.ReadBytes(blob.Length));
                foreach (System.Text.RegularExpressions.Match word in System.Text.RegularExpressions.Regex.Matches(text, @"[A-Za-z0-9_.`]+"))
                {
                    if (ByName.TryGetValue(word.Value, out var t))
                    {
                        Found.Add(t);
                    }
                }
            }
        }

        private void Body(MethodBodyBlock body)
        {
            if (!body.LocalSignature.IsNil)
            {
                var locals = md.GetStandaloneSignature(body.LocalSignature);
                if (locals.GetKind() == StandaloneSignatureKind.LocalVariables)
                {
                    locals.DecodeLocalSignature(this, null);
                }
            }
            foreach (var region in body.ExceptionRegions)
            {
                Handle(region.CatchType);
            }
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                var op = ReadOpCode(ref il);
                switch (OperandOf(op))
                {
                    case Operand.Token:
                        Handle(MetadataTokens.EntityHandle(il.ReadInt32()));
                        break;
                    case Operand.Switch:
                        int targets = il.ReadInt32(); // read before Offset is: `Offset += Read()` would read Offset first
                        il.Offset += 4 * targets;
                        break;
                    case var operand:
                        il.Offset += (int)operand;
                        break;
                }
            }
        }

        private void Handle(EntityHandle handle)
        {
            if (handle.IsNil)
            {
                return;
            }
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    Found.Add((TypeDefinitionHandle)handle);
                    break;
                case HandleKind.TypeSpecification:
                    md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                    break;
                case HandleKind.MethodDefinition:
                    Found.Add(md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType());
                    break;
                case HandleKind.FieldDefinition:
                    Found.Add(md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType());
                    break;
                case HandleKind.MemberReference:
                    var member = md.GetMemberReference((MemberReferenceHandle)handle);
                    Handle(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method)
                    {
                        member.DecodeMethodSignature(this, null);
                    }
                    else
                    {
                        member.DecodeFieldSignature(this, null);
                    }
                    break;
                case HandleKind.MethodSpecification:
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    Handle(spec.Method);
                    spec.DecodeSignature(this, null);
                    break;
                case HandleKind.StandaloneSignature:
                    var sig = md.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                    if (sig.GetKind() == StandaloneSignatureKind.Method)
                    {
                        sig.DecodeMethodSignature(this, null);
                    }
                    break;
            }
        }

        private enum Operand
        {
            None = 0,
            Int8 = 1,
            Int32 = 4,
            Int64 = 8,
            Token = -1,
            Switch = -2,
        }

        private static ILOpCode ReadOpCode(ref BlobReader il)
        {
            int b = il.ReadByte();
            return (ILOpCode)(b == 0xFE ? 0xFE00 | il.ReadByte() : b);
        }

        private static Operand OperandOf(ILOpCode op) => op switch
        {
            ILOpCode.Ldarg_s or ILOpCode.Ldarga_s or ILOpCode.Starg_s or ILOpCode.Ldloc_s or ILOpCode.Ldloca_s
                or ILOpCode.Stloc_s or ILOpCode.Ldc_i4_s or ILOpCode.Unaligned or ILOpCode.Br_s or ILOpCode.Brfalse_s
                or ILOpCode.Brtrue_s or ILOpCode.Beq_s or ILOpCode.Bge_s or ILOpCode.Bgt_s or ILOpCode.Ble_s
                or ILOpCode.Blt_s or ILOpCode.Bne_un_s or ILOpCode.Bge_un_s or ILOpCode.Bgt_un_s or ILOpCode.Ble_un_s
                or ILOpCode.Blt_un_s or ILOpCode.Leave_s => Operand.Int8,
            ILOpCode.Ldarg or ILOpCode.Ldarga or ILOpCode.Starg or ILOpCode.Ldloc or ILOpCode.Ldloca or ILOpCode.Stloc
                => (Operand)2,
            ILOpCode.Ldc_i4 or ILOpCode.Ldc_r4 or ILOpCode.Br or ILOpCode.Brfalse or ILOpCode.Brtrue or ILOpCode.Beq
                or ILOpCode.Bge or ILOpCode.Bgt or ILOpCode.Ble or ILOpCode.Blt or ILOpCode.Bne_un or ILOpCode.Bge_un
                or ILOpCode.Bgt_un or ILOpCode.Ble_un or ILOpCode.Blt_un or ILOpCode.Leave => Operand.Int32,
            ILOpCode.Ldc_i8 or ILOpCode.Ldc_r8 => Operand.Int64,
            ILOpCode.Switch => Operand.Switch,
            ILOpCode.Ldstr => Operand.Int32, // a user-string token: not a type
            ILOpCode.Jmp or ILOpCode.Call or ILOpCode.Calli or ILOpCode.Callvirt or ILOpCode.Newobj or ILOpCode.Ldftn
                or ILOpCode.Ldvirtftn or ILOpCode.Ldfld or ILOpCode.Ldflda or ILOpCode.Stfld or ILOpCode.Ldsfld
                or ILOpCode.Ldsflda or ILOpCode.Stsfld or ILOpCode.Ldtoken or ILOpCode.Box or ILOpCode.Unbox
                or ILOpCode.Unbox_any or ILOpCode.Castclass or ILOpCode.Isinst or ILOpCode.Newarr or ILOpCode.Ldelema
                or ILOpCode.Ldelem or ILOpCode.Stelem or ILOpCode.Ldobj or ILOpCode.Stobj or ILOpCode.Cpobj
                or ILOpCode.Initobj or ILOpCode.Mkrefany or ILOpCode.Refanyval or ILOpCode.Sizeof
                or ILOpCode.Constrained => Operand.Token,
            _ => Operand.None,
        };

        // ISignatureTypeProvider: the values are unused; decoding is for the side effect of meeting type definitions.
        public int GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            Found.Add(handle);
            return 0;
        }

        public int GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => 0;
        public int GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind)
        {
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
            return 0;
        }
        public int GetPrimitiveType(PrimitiveTypeCode typeCode) => 0;
        public int GetSZArrayType(int elementType) => 0;
        public int GetArrayType(int elementType, ArrayShape shape) => 0;
        public int GetByReferenceType(int elementType) => 0;
        public int GetPointerType(int elementType) => 0;
        public int GetPinnedType(int elementType) => 0;
        public int GetGenericInstantiation(int genericType, ImmutableArray<int> typeArguments) => 0;
        public int GetGenericMethodParameter(object? genericContext, int index) => 0;
        public int GetGenericTypeParameter(object? genericContext, int index) => 0;
        public int GetFunctionPointerType(MethodSignature<int> signature) => 0;
        public int GetModifiedType(int modifier, int unmodifiedType, bool isRequired) => 0;
    }
}
