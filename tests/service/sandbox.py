"""sandbox: reproduces, without systemd, the parts of reel.service's hardening that
act on the process itself, so tests can measure what the media graph tolerates:

- SystemCallFilter= (allow-list from `systemd-analyze syscall-filter`, the same sets
  systemd compiles) with SystemCallErrorNumber=EPERM, via libseccomp;
- RestrictAddressFamilies= (socket(2) allowed only for the listed families);
- NoNewPrivileges= (prctl PR_SET_NO_NEW_PRIVS, also what lets an unprivileged process
  load a seccomp filter);
- MemoryDenyWriteExecute= (prctl PR_SET_MDWE, the kernel's own W^X: Linux >= 6.3).

Use preexec(...) as subprocess.Popen's preexec_fn.
"""

import ctypes
import errno
import socket
import subprocess

PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4
FAMILIES = {"AF_UNIX": socket.AF_UNIX, "AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6,
            "AF_NETLINK": 16}


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def syscall_set(name, _seen=None):
    """The syscall names of a systemd set (@name), nested sets expanded."""
    seen = _seen if _seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        names |= syscall_set(word, seen) if word.startswith("@") else {word}
    return names


def allowed_syscalls(allow=("@system-service",), deny=()):
    names = set()
    for s in allow:
        names |= syscall_set(s)
    for s in deny:
        names -= syscall_set(s)
    return sorted(names)


def preexec(syscalls=None, families=None, mdwe=False):
    """A preexec_fn applying the given restrictions (None = not restricted)."""
    libc = ctypes.CDLL(None, use_errno=True)
    seccomp = ctypes.CDLL("libseccomp.so.2", use_errno=True) if syscalls is not None else None
    if seccomp is not None:
        seccomp.seccomp_init.restype = ctypes.c_void_p
        seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
        seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        seccomp.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                   ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        seccomp.seccomp_load.argtypes = [ctypes.c_void_p]

    def apply():
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
        if mdwe and libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_MDWE")
        if seccomp is None:
            return
        ctx = seccomp.seccomp_init(0x00050000 | errno.EPERM)
        for name in syscalls:
            nr = seccomp.seccomp_syscall_resolve_name(name.encode())
            if nr < 0 or (name == "socket" and families is not None):
                continue
            seccomp.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 0, None)
        if families is not None and "socket" in syscalls:
            nr = seccomp.seccomp_syscall_resolve_name(b"socket")
            for fam in families:
                cmp = ArgCmp(0, SCMP_CMP_EQ, FAMILIES[fam], 0)
                seccomp.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, ctypes.byref(cmp))
        if seccomp.seccomp_load(ctx) != 0:
            raise OSError(ctypes.get_errno(), "seccomp_load")
    return apply


def mdwe_supported():
    """Whether the kernel has PR_SET_MDWE (probed in a child, it cannot be undone)."""
    r = subprocess.run(["/usr/bin/python3", "-c",
                        "import ctypes,sys; sys.exit(ctypes.CDLL(None).prctl(%d,%d,0,0,0) != 0)"
                        % (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)])
    return r.returncode == 0
