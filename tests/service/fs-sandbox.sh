#!/bin/sh
# fs-sandbox.sh CMD...: runs CMD with the filesystem view reel.service gives reeld,
# rebuilt with mounts in the current (private) mount namespace:
#   PrivateDevices=yes   /dev: a tmpfs with null zero full random urandom tty, /dev/shm
#   ProtectSystem=strict /: read-only (only the private /tmp below is writable)
#   PrivateTmp=yes       /tmp and /var/tmp: fresh tmpfs
#   ProtectHome=yes      /home /root /run/user: empty and read-only
#   ProtectProc=invisible, ProcSubset=pid: /proc remounted hidepid=invisible,subset=pid
#                        (no /proc/cpuinfo, /proc/meminfo, /proc/sys...)
# Run it under `unshare --mount --propagation private` as root: nothing leaves the
# namespace. The state directory is played by a directory in the private /tmp.
set -eu
mount --make-rprivate /
save=$(mktemp -d)
mount --rbind /dev "$save"
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in null zero full random urandom tty; do
  touch "/dev/$n"
  mount --bind "$save/$n" "/dev/$n"
done
mkdir /dev/shm && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
# A checkout under /tmp or /var/tmp (CI clones anywhere) would vanish under the
# private /tmp below: hold it aside and put it back at the same path.
src="${REEL_SOURCE_ROOT:-}"
case "$src" in
  /tmp/*|/var/tmp/*) mkdir /dev/shm/reel-src && mount --rbind "$src" /dev/shm/reel-src ;;
  *) src="" ;;
esac
umount -l "$save"
mount -t proc -o nosuid,nodev,noexec,hidepid=invisible,subset=pid proc /proc
mount -o remount,bind,ro /
# ...and every other mount, as ProtectSystem=strict does (API filesystems aside).
awk '{print $5}' /proc/self/mountinfo | while read -r m; do
  case "$m" in /|/proc*|/sys*|/dev*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
for d in /home /root /run/user; do
  [ -d "$d" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$d"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
if [ -n "$src" ]; then
  mkdir -p "$src" && mount --rbind /dev/shm/reel-src "$src"
fi
exec "$@"
