using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FilterService.Proxy;

/// <summary>
/// The few Linux calls the tunnel loop makes itself (epoll, accept4, recv, send, connect), with the constants they
/// need. Linux only, x64 and arm64: the two layouts of <c>struct epoll_event</c> are handled in <see cref="EventStride"/>.
/// "libc" is mapped to the C library by the runtime. The stubs are source-generated (LibraryImport): blittable arguments
/// only, so no marshalling runs per call.
/// </summary>
internal static unsafe partial class Libc
{
    public const int EAGAIN = 11, EINTR = 4, EINPROGRESS = 115, EMFILE = 24, ENFILE = 23, ENOBUFS = 105, ENOMEM = 12;
    public const uint EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000, EPOLLET = 0x80000000;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    public const int SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int AF_INET = 2, AF_INET6 = 10;
    public const int MSG_PEEK = 0x2, MSG_NOSIGNAL = 0x4000;
    public const int IPPROTO_TCP = 6, TCP_NODELAY = 1;
    public const int SHUT_WR = 1;
    public const int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
    public const int SockaddrSize = 28; // sockaddr_in6, the larger of the two

    /// <summary>Whether this process can run the tunnel loop: Linux on x64 or arm64.</summary>
    public static bool Supported => OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Size of <c>struct epoll_event</c>: packed (12 bytes) on x64, naturally aligned (16) elsewhere.</summary>
    public static readonly int EventStride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Offset of the event's 64-bit data field.</summary>
    public static readonly int EventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);
    [LibraryImport("libc", SetLastError = true)] public static partial int epoll_wait(int epfd, byte* events, int maxEvents, int timeout);
    [LibraryImport("libc", SetLastError = true)] public static partial int accept4(int fd, byte* addr, int* addrLen, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial nint recv(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial nint send(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] public static partial int connect(int fd, byte* addr, int addrLen);
    [LibraryImport("libc", SetLastError = true)] public static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] public static partial int shutdown(int fd, int how);
    [LibraryImport("libc", SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, int* value, int length);
    [LibraryImport("libc", SetLastError = true)] public static partial int eventfd(uint initial, int flags);
    [LibraryImport("libc", SetLastError = true)] public static partial nint read(int fd, byte* buffer, nint count);
    [LibraryImport("libc", SetLastError = true)] public static partial nint write(int fd, byte* buffer, nint count);

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>Registers <paramref name="fd"/> with <paramref name="events"/> and <paramref name="data"/>; false with errno on failure.</summary>
    public static bool EpollAdd(int epoll, int fd, uint events, ulong data)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + EventDataOffset) = data;
        return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, ev) == 0;
    }

    public static void EpollRemove(int epoll, int fd)
    {
        byte* ev = stackalloc byte[16];
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, ev);
    }

    public static void NoDelay(int fd)
    {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
    }

    /// <summary>The address in a <c>sockaddr_in</c> or <c>sockaddr_in6</c>, IPv4-mapped IPv6 given as IPv4.</summary>
    public static IPAddress ReadAddress(byte* sockaddr)
    {
        ushort family = *(ushort*)sockaddr;
        if (family == AF_INET)
        {
            return new IPAddress(new ReadOnlySpan<byte>(sockaddr + 4, 4));
        }
        if (family == AF_INET6)
        {
            var address = new IPAddress(new ReadOnlySpan<byte>(sockaddr + 8, 16), *(uint*)(sockaddr + 24));
            return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        }
        return IPAddress.None;
    }

    /// <summary>Writes <paramref name="endpoint"/> as a sockaddr into <paramref name="sockaddr"/> (28 bytes); its length.</summary>
    public static int WriteAddress(IPEndPoint endpoint, byte* sockaddr)
    {
        new Span<byte>(sockaddr, SockaddrSize).Clear();
        // sin_port and sin6_port are in network order, at the same offset.
        sockaddr[2] = (byte)(endpoint.Port >> 8);
        sockaddr[3] = (byte)endpoint.Port;
        if (endpoint.AddressFamily == AddressFamily.InterNetwork)
        {
            *(ushort*)sockaddr = AF_INET;
            endpoint.Address.TryWriteBytes(new Span<byte>(sockaddr + 4, 4), out _);
            return 16;
        }
        *(ushort*)sockaddr = AF_INET6;
        endpoint.Address.TryWriteBytes(new Span<byte>(sockaddr + 8, 16), out _);
        *(uint*)(sockaddr + 24) = (uint)endpoint.Address.ScopeId;
        return SockaddrSize;
    }
}
