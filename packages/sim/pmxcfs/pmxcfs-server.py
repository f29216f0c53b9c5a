#!/usr/bin/python3
"""The simulated pmxcfs: one node's view of the cluster filesystem, served through FUSE.

It serves a backing directory (the simulated cluster's shared `/etc/pve`) at a node's
mountpoint as pve-cluster's pmxcfs serves its database at /etc/pve (src/pmxcfs/pmxcfs.c,
cfs-plug-memdb.c, cfs-plug-link.c, cfs-plug-func.c, memdb.c, dcdb.c, status.c):

- the per-node links `local`, `qemu-server`, `openvz`, `lxc` (pmxcfs.c create_symlinks) and the
  generated `.members` and `.vmlist` (create_dot_members_cb, create_dot_vmlist_cb);
- modes as tree_entry_stat / cfs_plug_link_getattr give them (0777/0666 quorate, 0555/0444
  without quorum), masked as cfs_fuse_getattr masks them, group www-data;
- every change fails with EACCES without quorum (dcdb_send_fuse_message), a VM config whose
  VMID another node or guest type holds fails with EEXIST (memdb_write, memdb_rename:
  vmlist_different_vm_exists), files stop at 1 MiB (MEMDB_MAX_FILE_SIZE: EFBIG);
- mutations of all nodes' servers are serialized by a flock on the backing directory, as
  pmxcfs's dfsm orders every write cluster-wide.

Controls (one line in, one line out, on a Unix socket): ping, pause, resume, no-quorum,
quorum, release. Paused, every filesystem call blocks until resume, as on a hung pmxcfs;
release makes blocked and later calls fail with ENOTCONN, so that an unmount can go through.
Run by packages/sim/src/pmxcfs/pmxcfs-daemon.ts; Debian's python3-fusepy (libfuse2).
"""

import argparse
import errno
import fcntl
import json
import os
import re
import socket
import stat
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations  # Debian names the module fusepy

WWW_DATA_GID = 33  # pmxcfs's cfs.gid: the www-data group
MEMDB_MAX_FILE_SIZE = 1024 * 1024  # memdb.h
VM_DIRS = {"qemu-server": "qemu", "lxc": "lxc", "openvz": "openvz"}  # dir_contain_vm_config
DOT_FILES = (".members", ".vmlist")
LINK_NAMES = ("local", "qemu-server", "openvz", "lxc")
HIDDEN = (".lockstep-sim",)  # the simulator's own bookkeeping in the cluster dir: no pmxcfs file
UNCHANGED_ID = (-1, 0xFFFFFFFF)  # chown's "no change", signed or not


def is_private(rel):
    """cfs-utils.c path_is_private: `priv/...` and `nodes/<node>/priv/...`."""
    parts = rel.split("/")
    return parts[0] == "priv" or (len(parts) >= 3 and parts[0] == "nodes" and parts[2] == "priv")


def vm_config_of(rel):
    """memdb.c path_contain_vm_config: (node, type, vmid) of `nodes/<node>/<dir>/<vmid>.conf`."""
    parts = rel.split("/")
    if len(parts) != 4 or parts[0] != "nodes" or parts[2] not in VM_DIRS:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", parts[1]):  # valid_nodename: the LDH rule
        return None
    match = re.fullmatch(r"([1-9][0-9]*)\.conf", parts[3])
    if not match or int(match.group(1)) > 0xFFFFFFFF:
        return None
    return parts[1], VM_DIRS[parts[2]], int(match.group(1))


class Gate:
    """Pause and release: every filesystem call passes here first."""

    def __init__(self):
        self.cond = threading.Condition()
        self.paused = False
        self.released = False

    def enter(self):
        with self.cond:
            while self.paused and not self.released:
                self.cond.wait()
            if self.released:
                raise FuseOSError(errno.ENOTCONN)

    def set(self, paused=None, released=None):
        with self.cond:
            if paused is not None:
                self.paused = paused
            if released is not None:
                self.released = released
            self.cond.notify_all()


class ClusterWriteLock:
    """Serializes mutations across every node's server: a flock on the backing directory.

    Each holder takes it with a descriptor of its own, kept per thread: the server answers
    calls on several threads at once, and one shared descriptor let a thread close another's
    (leaking the lock, so that every node's mutations then waited for ever).
    """

    def __init__(self, backing):
        self.backing = backing
        self.held = threading.local()

    def __enter__(self):
        fd = os.open(self.backing, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.held.fd = fd

    def __exit__(self, *exc):
        os.close(self.held.fd)


class Pmxcfs(Operations):
    """The FUSE operations, each as the cfs_fuse_* function of the same name answers it."""

    def __init__(self, backing, node, quorate):
        self.backing = backing
        self.node = node
        self.quorate = quorate
        self.ready = False
        self.gate = Gate()
        self.write_lock = ClusterWriteLock(backing)
        self.links = {name: f"nodes/{node}" if name == "local" else f"nodes/{node}/{name}" for name in LINK_NAMES}

    def __call__(self, op, *args):
        self.gate.enter()
        try:
            return super().__call__(op, *args)
        except OSError as err:
            if isinstance(err, FuseOSError):
                raise
            raise FuseOSError(err.errno or errno.EIO) from err

    def init(self, path):
        self.ready = True

    # --- paths -------------------------------------------------------------------------

    def rel(self, path):
        return path.lstrip("/")

    def plug(self, rel):
        """find_plug: the top-level name that a link or function plug serves, if any."""
        top = rel.split("/")[0]
        return top if top in self.links or top in DOT_FILES else None

    def real(self, rel):
        if rel.split("/")[0] in HIDDEN:
            raise FuseOSError(errno.ENOENT)
        return os.path.join(self.backing, rel)

    def memdb_only(self, rel):
        """The ops that only the memdb plug has: a plug's own name or the root answer EACCES."""
        if not rel or self.plug(rel):
            raise FuseOSError(errno.EACCES)
        return self.real(rel)

    def writable(self, rel):
        """dcdb_send_fuse_message: nothing changes without quorum."""
        path = self.memdb_only(rel)
        if not self.quorate:
            raise FuseOSError(errno.EACCES)
        return path

    def check_vmid(self, rel, moving_from=None):
        """memdb_write / memdb_rename: a VM config whose VMID is another node's (or type's) fails."""
        target = vm_config_of(rel)
        if not target:
            return
        node, vmtype, vmid = target
        source = vm_config_of(moving_from) if moving_from else None
        if source and source[2] == vmid:
            return  # memdb_rename lets a guest's own config move (migration)
        for other_node, other_type in self.vm_holders(vmid):
            if (other_node, other_type) != (node, vmtype):
                raise FuseOSError(errno.EEXIST)

    def vm_holders(self, vmid):
        nodes_dir = self.real("nodes")
        for node in sorted(os.listdir(nodes_dir)) if os.path.isdir(nodes_dir) else []:
            for directory, vmtype in VM_DIRS.items():
                if os.path.exists(os.path.join(nodes_dir, node, directory, f"{vmid}.conf")):
                    yield node, vmtype

    # --- attributes --------------------------------------------------------------------

    def getattr(self, path, fh=None):
        rel = self.rel(path)
        if not rel:
            return self.masked(rel, stat.S_IFDIR | 0o777, 2, 0, os.stat(self.backing).st_mtime)  # cfs_plug_base_getattr
        name = self.plug(rel)
        if name in DOT_FILES and rel == name:
            return self.masked(rel, stat.S_IFREG | 0o440, 1, len(self.dot_file(name).encode()), 0)
        if name:
            if rel != name:
                raise FuseOSError(errno.EACCES)  # cfs_plug_link_lookup_plug: nothing under a link
            return self.masked(rel, stat.S_IFLNK | self.mode(0o777), 1, len(self.links[name]), 0)
        st = os.lstat(self.real(rel))
        if stat.S_ISDIR(st.st_mode):
            kind, perms, nlink = stat.S_IFDIR, 0o777, 2
        elif stat.S_ISLNK(st.st_mode):
            kind, perms, nlink = stat.S_IFLNK, 0o777, 1
        else:
            kind, perms, nlink = stat.S_IFREG, 0o666, 1
        return self.masked(rel, kind | self.mode(perms), nlink, st.st_size, st.st_mtime)

    def mode(self, quorate_perms):
        """tree_entry_stat, cfs_plug_link_getattr: write bits only with quorum."""
        return quorate_perms if self.quorate else quorate_perms & 0o555

    def masked(self, rel, mode, nlink, size, mtime):
        """cfs_fuse_getattr: private paths owner-only, dirs and links 0755, files 0750 at most."""
        if is_private(rel):
            mode &= 0o777700
        elif stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
            mode &= 0o777755
        else:
            mode &= 0o777750
        seconds = int(mtime)
        return {"st_mode": mode, "st_nlink": nlink, "st_size": size, "st_uid": 0, "st_gid": WWW_DATA_GID,
                "st_atime": seconds, "st_mtime": seconds, "st_ctime": seconds, "st_blocks": (size + 4095) // 4096}

    def readdir(self, path, fh):
        rel = self.rel(path)
        entries = sorted(os.listdir(self.real(rel)))
        if not rel:
            # cfs_plug_base_readdir: the plugs, then the memdb entries they do not shadow
            shown = [e for e in entries if e not in HIDDEN and e not in self.links and e not in DOT_FILES]
            entries = list(LINK_NAMES) + list(DOT_FILES) + shown
        return [".", ".."] + entries

    def readlink(self, path):
        rel = self.rel(path)
        return self.links[rel] if rel in self.links else os.readlink(self.real(rel))

    def statfs(self, path):
        st = os.statvfs(self.backing)
        return {key: getattr(st, key) for key in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_favail", "f_namemax")}

    def chmod(self, path, mode):
        """cfs_fuse_chmod: only 0600 (private) or 0640 is accepted, and nothing changes."""
        allowed = 0o600 if is_private(self.rel(path)) else 0o640
        if mode & 0o7777 != allowed:
            raise FuseOSError(errno.EPERM)
        return 0

    def chown(self, path, uid, gid):
        """cfs_fuse_chown: root and www-data only, and nothing changes."""
        if uid not in (0, *UNCHANGED_ID) or gid not in (WWW_DATA_GID, *UNCHANGED_ID):
            raise FuseOSError(errno.EPERM)
        return 0

    # --- contents ----------------------------------------------------------------------

    def open(self, path, flags):
        rel = self.rel(path)
        if rel in DOT_FILES:
            return 0
        if self.plug(rel) or not os.path.lexists(self.real(rel)):
            raise FuseOSError(errno.EACCES if self.plug(rel) else errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        rel = self.rel(path)
        if rel in DOT_FILES:
            return self.dot_file(rel).encode()[offset:offset + size]
        with open(self.memdb_only(rel), "rb") as f:
            f.seek(offset)
            return f.read(size)

    def write(self, path, data, offset, fh):
        rel = self.rel(path)
        real = self.writable(rel)
        if offset + len(data) > MEMDB_MAX_FILE_SIZE:
            raise FuseOSError(errno.EFBIG)
        with self.write_lock:
            self.check_vmid(rel)
            fd = os.open(real, os.O_WRONLY)
            try:
                return os.pwrite(fd, data, offset)
            finally:
                os.close(fd)

    def truncate(self, path, length, fh=None):
        real = self.writable(self.rel(path))
        if length > MEMDB_MAX_FILE_SIZE:
            raise FuseOSError(errno.EFBIG)
        with self.write_lock:
            os.truncate(real, length)

    def create(self, path, mode, fi=None):
        rel = self.rel(path)
        real = self.writable(rel)
        with self.write_lock:
            self.check_vmid(rel)
            os.close(os.open(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
        return 0

    def unlink(self, path):
        real = self.writable(self.rel(path))
        with self.write_lock:
            os.unlink(real)

    def mkdir(self, path, mode):
        real = self.writable(self.rel(path))
        with self.write_lock:
            os.mkdir(real, 0o755)

    def rmdir(self, path):
        real = self.writable(self.rel(path))
        with self.write_lock:
            os.rmdir(real)

    def rename(self, old, new):
        """cfs_fuse_rename: within the memdb only; memdb_rename replaces the target atomically."""
        source, target = self.rel(old), self.rel(new)
        real_old = self.writable(source)
        real_new = self.writable(target)
        with self.write_lock:
            if os.path.isfile(real_old):
                self.check_vmid(target, moving_from=source)
            os.rename(real_old, real_new)

    def utimens(self, path, times=None):
        real = self.writable(self.rel(path))
        with self.write_lock:
            os.utime(real, times)

    def release(self, path, fh):
        return 0

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        return 0

    # --- generated files ---------------------------------------------------------------

    def dot_file(self, name):
        return self.members() if name == ".members" else self.vmlist()

    def members(self):
        """status.c cfs_create_memberlist_msg, from the backing corosync.conf (or local mode)."""
        cluster = read_corosync(self.real("corosync.conf"))
        if not cluster or not cluster["nodes"]:
            return f'{{\n"nodename": "{self.node}",\n"version": 0\n}}\n'
        lines = [f'  "{n["name"]}": {{ "id": {n["nodeid"]}, "online": 1' + (f', "ip": "{n["ip"]}"' if n.get("ip") else "") + "}"
                 for n in cluster["nodes"]]
        return (f'{{\n"nodename": "{self.node}",\n"version": {cluster["version"]},\n'
                f'"cluster": {{ "name": "{cluster["name"]}", "version": {cluster["version"]}, '
                f'"nodes": {len(cluster["nodes"])}, "quorate": {1 if self.quorate else 0} }},\n'
                f'"nodelist": {{\n' + ",\n".join(lines) + "\n  }\n}\n")

    def vmlist(self):
        """status.c cfs_create_vmlist_msg; versions here are the configs' mtimes, not memdb's counters."""
        ids = []
        nodes_dir = self.real("nodes")
        for node in sorted(os.listdir(nodes_dir)) if os.path.isdir(nodes_dir) else []:
            for directory, vmtype in VM_DIRS.items():
                folder = os.path.join(nodes_dir, node, directory)
                for name in os.listdir(folder) if os.path.isdir(folder) else []:
                    config = vm_config_of(f"nodes/{node}/{directory}/{name}")
                    if config:
                        ids.append((config[2], node, vmtype, int(os.stat(os.path.join(folder, name)).st_mtime)))
        version = max((entry[3] for entry in ids), default=0)
        if not ids:
            return f'{{\n"version": {version}\n\n}}\n'
        body = ",\n".join(f'"{vmid}": {{ "node": "{node}", "type": "{vmtype}", "version": {v} }}' for vmid, node, vmtype, v in sorted(ids))
        return f'{{\n"version": {version},\n"ids": {{\n{body}}}\n\n}}\n'


def read_corosync(file):
    """The cluster name, config_version and nodelist of a corosync.conf (confdb.c reads the same keys)."""
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    nodes, section, current, name, version = [], [], None, "", 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.endswith("{"):
            section.append(line[:-1].strip())
            if section == ["nodelist", "node"]:
                current = {}
        elif line == "}":
            if section == ["nodelist", "node"] and current is not None:
                nodes.append({"name": current.get("name", ""), "nodeid": int(current.get("nodeid", "0")), "ip": current.get("ring0_addr")})
                current = None
            section = section[:-1]
        elif ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            if current is not None:
                current[key] = value
            elif section == ["totem"] and key == "cluster_name":
                name = value
            elif section == ["totem"] and key == "config_version":
                version = int(value)
    return {"name": name, "version": version, "nodes": sorted(nodes, key=lambda n: n["nodeid"])}


def serve_controls(sock_path, fs):
    """The control socket: each command answers `ok` once it is in force."""
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    os.chmod(sock_path, 0o600)
    server.listen(8)

    def handle(conn):
        with conn:
            command = conn.makefile("r").readline().strip()
            conn.sendall((apply_control(fs, command) + "\n").encode())

    def loop():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def apply_control(fs, command):
    if command == "ping":
        return "ready" if fs.ready else "starting"
    if command in ("pause", "resume"):
        fs.gate.set(paused=command == "pause")
    elif command in ("quorum", "no-quorum"):
        fs.quorate = command == "quorum"
    elif command == "release":
        fs.gate.set(released=True)
    else:
        return f"error: unknown command {json.dumps(command)}"
    return "ok"


def main():
    parser = argparse.ArgumentParser(description="simulated pmxcfs for one node")
    parser.add_argument("--backing", required=True)
    parser.add_argument("--mountpoint", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--quorate", choices=["0", "1"], default="1")
    args = parser.parse_args()
    fs = Pmxcfs(os.path.realpath(args.backing), args.node, args.quorate == "1")
    serve_controls(args.control, fs)
    # pmxcfs.c mounts with default_permissions and allow_other and sets direct_io on open; the
    # caches are off here (pmxcfs keeps libfuse's 1 s) so that a control is in force at once.
    # Like pmxcfs, libfuse 2's high-level API without hard_remove: a file renamed over while
    # open is first renamed aside (fuse.c hide_node, `.fuse_hidden*`), its name gone meanwhile.
    FUSE(fs, args.mountpoint, foreground=True, nothreads=False, allow_other=True, default_permissions=True,
         direct_io=True, attr_timeout=0, entry_timeout=0, negative_timeout=0, fsname="pmxcfs")
    os.unlink(args.control)


if __name__ == "__main__":
    sys.exit(main())
