using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A real MIT Kerberos KDC (Debian's krb5-kdc) for one test: a throwaway realm <see cref="Realm"/> in a temporary
/// directory (its own krb5.conf, kdc.conf and database), listening on 127.0.0.1 on a free port; the proxy's service
/// principal <c>HTTP/proxy.test</c> exported to <see cref="Keytab"/>. <see cref="Environment"/> points client
/// tools (kinit, curl) and the service at this realm only. Disposing stops the KDC.
/// </summary>
public sealed class Kdc : IAsyncDisposable
{
    public const string Realm = "PROXY.TEST";
    public const string ProxyName = "proxy.test";

    private readonly string _dir;
    private readonly Process _process;

    private Kdc(string dir, Process process)
    {
        _dir = dir;
        _process = process;
    }

    /// <summary>The keytab holding <c>HTTP/proxy.test@PROXY.TEST</c>'s key.</summary>
    public string Keytab => Path.Combine(_dir, "http.keytab");

    /// <summary>KRB5_CONFIG and KRB5_KDC_PROFILE for this realm.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["KRB5_CONFIG"] = Path.Combine(_dir, "krb5.conf"),
        ["KRB5_KDC_PROFILE"] = Path.Combine(_dir, "kdc.conf"),
    };

    /// <summary>Starts a KDC with the principals <paramref name="users"/> (name, password) and the proxy's service principal.</summary>
    public static async Task<Kdc> StartAsync(params (string Name, string Password)[] users)
    {
        var dir = TempDir.Create("kdc");
        var port = SmtpSink.FreePort();
        File.WriteAllText(Path.Combine(dir, "krb5.conf"), $"""
            [libdefaults]
              default_realm = {Realm}
              dns_lookup_kdc = false
              dns_lookup_realm = false
              rdns = false
              dns_canonicalize_hostname = false
              udp_preference_limit = 1
            [realms]
              {Realm} = {"{"}
                kdc = 127.0.0.1:{port}
              {"}"}
            [domain_realm]
              {ProxyName} = {Realm}

            """);
        File.WriteAllText(Path.Combine(dir, "kdc.conf"), $"""
            [kdcdefaults]
              kdc_ports = {port}
              kdc_tcp_ports = {port}
            [realms]
              {Realm} = {"{"}
                database_name = {dir}/principal
                key_stash_file = {dir}/stash
                acl_file = {dir}/kadm5.acl
                max_life = 1h
              {"}"}
            [logging]
              kdc = FILE:{dir}/kdc.log

            """);
        File.WriteAllText(Path.Combine(dir, "kadm5.acl"), "");
        var env = new Dictionary<string, string> { ["KRB5_CONFIG"] = Path.Combine(dir, "krb5.conf"), ["KRB5_KDC_PROFILE"] = Path.Combine(dir, "kdc.conf") };
        await Must(Run("/usr/sbin/kdb5_util", env, null, "create", "-s", "-r", Realm, "-P", "master-" + Guid.NewGuid().ToString("N")));
        foreach (var (name, password) in users)
        {
            await Must(Run("/usr/sbin/kadmin.local", env, null, "-r", Realm, "-q", $"addprinc -pw {password} {name}"));
        }
        await Must(Run("/usr/sbin/kadmin.local", env, null, "-r", Realm, "-q", $"addprinc -randkey HTTP/{ProxyName}"));
        await Must(Run("/usr/sbin/kadmin.local", env, null, "-r", Realm, "-q", $"ktadd -k {dir}/http.keytab HTTP/{ProxyName}"));

        var psi = new ProcessStartInfo("/usr/sbin/krb5kdc") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-n");
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        var process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var kdc = new Kdc(dir, process);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string Log() => File.Exists(Path.Combine(dir, "kdc.log")) ? File.ReadAllText(Path.Combine(dir, "kdc.log")) : "";
        while (!Log().Contains("commencing operation", StringComparison.Ordinal))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await kdc.DisposeAsync();
                throw new InvalidOperationException("krb5kdc did not start: " + Log());
            }
            await Task.Delay(100);
        }
        return kdc;
    }

    /// <summary>kinit as <paramref name="user"/> into a new credential cache; returns its KRB5CCNAME.</summary>
    public async Task<string> KinitAsync(string user, string password, string? lifetime = null)
    {
        var cache = "FILE:" + Path.Combine(_dir, $"cc-{user}-{Guid.NewGuid():N}");
        var env = new Dictionary<string, string>(Environment) { ["KRB5CCNAME"] = cache };
        string[] args = lifetime is null ? [user] : ["-l", lifetime, user];
        await Must(Run("/usr/bin/kinit", env, password + "\n", args));
        return cache;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task Must(Task<(int Exit, string Output)> run)
    {
        var (exit, output) = await run;
        if (exit != 0)
        {
            throw new InvalidOperationException($"exit {exit}: {output}");
        }
    }

    /// <summary>Runs a tool with <paramref name="environment"/> added and <paramref name="input"/> on stdin; at most 60 s.</summary>
    public static async Task<(int Exit, string Output)> Run(string file, IReadOnlyDictionary<string, string> environment, string? input, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY" })
        {
            psi.Environment.Remove(proxy);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} did not finish in 60 s");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
