"""A model of what a power cut leaves of a folder, rebuilt from an strace of the process that changed it.

``trace_command`` runs a process under ``strace -xx``, which records every
write with its bytes (so a range written twice is rebuilt as it was at each
point, not from the final file), every rename, link, unlink, fsync and
close; ``replay`` turns the calls on files under the folder into a History,
and ``History.states`` yields the file trees a power cut may leave:

- What existed before the operation started is on disk.
- A file's content is on disk up to its last fsync/fdatasync; the writes
  after it reach the disk as a prefix, in order, each write whole (none,
  some, all). Torn or reordered writes within a file are not modelled.
- A directory entry (a create, mkdir, rename or unlink) is on disk only
  once its directory was fsynced after it; fsyncing a file does not make its
  name durable. The unsynced entry changes of one directory reach the disk
  in any subset: metadata is not ordered (btrfs, XFS, a write-back cache).
  A rename is one change, whole; a rename between two folders becomes
  durable with its destination folder. A hard link is a second name for the
  same content (each name is written out as its own file).
- ``sync()``/``syncfs()`` make everything durable. The ``-shm`` file (a
  shared-memory map, never fsynced, rebuilt by SQLite from the WAL) keeps
  only what was written to it with write().

Crash points are after every call that names, unnames or syncs something,
after the last write of each run of writes, and at the end. At each one the
states checked are: nothing unsynced survived; everything did (what the
process saw); and every single file or folder varied alone (file: sampled
prefixes of its unsynced writes; folder: each prefix, each change alone,
all but each change) on top of each of those two. Identical trees are
checked once (the short scale checks a bounded number: those where nothing
unsynced survived first, then others spread over the trace).
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TRACED_CALLS = (
    "openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,lseek,ftruncate,truncate,fallocate,fsync,fdatasync,"
    "sync,syncfs,rename,renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,mkdirat,rmdir,close,dup,dup2,dup3,"
    "fcntl,sendfile,copy_file_range,mmap"
)


NOTHING = "nothing unsynced reached the disk"


class TraceError(Exception):
    """The trace holds something the model cannot replay soundly (so no state is claimed checked)."""


# Reading strace's output --------------------------------------------------------------------------------------

HEX_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?')
ANNOTATED_FD = re.compile(r"^(-?\d+|AT_FDCWD)<((?:\\x[0-9a-f]{2})*)>")


@dataclass
class Call:
    pid: int
    name: str
    args: list[str]
    result: int
    result_path: str | None  # the path strace -y shows beside a returned fd
    line: int


def decode(text: str) -> bytes:
    return bytes.fromhex(text.replace("\\x", ""))


def split_arguments(text: str) -> list[str]:
    """strace's argument list split at top-level commas (strings are hex, so hold no commas or quotes)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    if text.strip():
        parts.append(text[start:].strip())
    return parts


def parse_trace(text: str) -> list[Call]:
    """The completed calls of an ``strace -f -y -xx`` log, in the order they returned; failed calls dropped."""
    calls: list[Call] = []
    unfinished: dict[int, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        pid_text, _, rest = raw.partition(" ")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        rest = rest.strip()
        if rest.startswith(("---", "+++")):
            continue
        if rest.endswith("<unfinished ...>"):
            unfinished[pid] = rest[: -len("<unfinished ...>")]
            continue
        if rest.startswith("<..."):
            rest = unfinished.pop(pid, "") + rest.split("resumed>", 1)[1]
        head, separator, tail = rest.rpartition(") = ")
        if not separator:
            continue  # e.g. exit_group: no return value
        name, _, arguments = head.partition("(")
        token = tail.split(" ", 1)[0]
        match = ANNOTATED_FD.match(token)
        result_path = None
        if match:
            token, result_path = match.group(1), os.fsdecode(decode(match.group(2)))
        try:
            result = int(token, 0)
        except ValueError:
            continue  # "?": the process died inside the call
        if result < 0:
            continue
        calls.append(Call(pid, name, split_arguments(arguments), result, result_path, number))
    return calls


def string_argument(text: str) -> bytes:
    match = HEX_STRING.fullmatch(text)
    if not match:
        raise TraceError(f"expected a string, got {text[:80]!r}")
    if match.group(2):
        raise TraceError("strace cut a string short (raise -s)")
    return decode(match.group(1))


def fd_argument(text: str) -> tuple[int, str | None]:
    match = ANNOTATED_FD.match(text)
    if not match:
        return int(text, 0), None
    number = -100 if match.group(1) == "AT_FDCWD" else int(match.group(1))
    return number, os.fsdecode(decode(match.group(2)))


# The model of the folder ----------------------------------------------------------------------------------------


@dataclass
class Node:
    """A file or folder (an inode): what it held before, and every change to it, by event index."""

    kind: str  # "file" or "dir"
    initial: bytes | dict[str, int]
    changes: list[int] = field(default_factory=list)  # indices into History.events
    syncs: list[int] = field(default_factory=list)


@dataclass
class Event:
    """One change, sync or marker, in the order the process made it."""

    kind: str  # "write", "truncate", "link", "unlink", "rename", "sync", "syncall", "marker"
    node: int  # the file written, or the folder whose fsync makes the entry change durable
    detail: tuple
    call: str  # what to show in a report


@dataclass
class History:
    root: str
    nodes: list[Node]
    events: list[Event]
    root_node: int = 0
    _contents: dict[tuple[int, int], bytes] = field(default_factory=dict, repr=False)

    # The file trees a crash may leave -------------------------------------------------------------------
    def pending(self, node: int, point: int) -> tuple[list[int], list[int]]:
        """(durable, pending) change indices of ``node`` at crash point ``point`` (an event index)."""
        synced = max([index for index in self.nodes[node].syncs if index <= point]
                     + [index for index in self.sync_alls if index <= point] + [-1])
        changes = [index for index in self.nodes[node].changes if index <= point]
        return [i for i in changes if i < synced], [i for i in changes if i > synced]

    @property
    def sync_alls(self) -> list[int]:
        return [index for index, event in enumerate(self.events) if event.kind == "syncall"]

    def content(self, node: int, count: int) -> bytes:
        """The bytes of file ``node`` once its first ``count`` changes reached the disk."""
        key = (node, count)
        if key not in self._contents:
            data = bytearray(self.nodes[node].initial)  # type: ignore[arg-type]
            for index in self.nodes[node].changes[:count]:
                event = self.events[index]
                if event.kind == "write":
                    offset, chunk = event.detail
                    if len(data) < offset:
                        data.extend(b"\0" * (offset - len(data)))
                    data[offset : offset + len(chunk)] = chunk
                else:  # truncate
                    (size,) = event.detail
                    del data[size:]
                    data.extend(b"\0" * (size - len(data)))
            self._contents[key] = bytes(data)
        return self._contents[key]

    def layout(self, chosen: dict[int, Sequence[int]]) -> dict[str, tuple[int, int] | None]:
        """Relative path -> (file node, changes on disk), None for a folder, once the ``chosen`` changes reached the disk.

        A file's chosen changes are always a prefix of its changes, so the
        pair names its bytes (``content``).
        """
        entries = {index: dict(node.initial) for index, node in enumerate(self.nodes) if node.kind == "dir"}  # type: ignore[arg-type]
        for index in sorted(i for node, changes in chosen.items() if self.nodes[node].kind == "dir" for i in changes):
            event = self.events[index]
            if event.kind == "link":
                folder, name, target = event.detail
                entries[folder][name] = target
            elif event.kind == "unlink":
                folder, name = event.detail
                entries[folder].pop(name, None)
            elif event.kind == "rename":
                source_folder, source_name, folder, name, target = event.detail
                if entries[source_folder].get(source_name) == target:
                    del entries[source_folder][source_name]
                entries[folder][name] = target
        files: dict[str, tuple[int, int] | None] = {}

        def walk(folder: int, prefix: str, seen: set[int]) -> None:
            for name, target in sorted(entries[folder].items()):
                path = prefix + name
                if self.nodes[target].kind == "dir":
                    if target not in seen:
                        files[path] = None
                        walk(target, path + "/", seen | {target})
                else:
                    files[path] = (target, len(chosen.get(target, ())))

        walk(self.root_node, "", {self.root_node})
        return files

    def crash_points(self) -> list[int]:
        """After each call that names, unnames or syncs; after the last write of a run of writes; the end."""
        points = []
        for index, event in enumerate(self.events):
            following = self.events[index + 1] if index + 1 < len(self.events) else None
            is_write = event.kind in ("write", "truncate")
            if not is_write or following is None or following.kind not in ("write", "truncate"):
                points.append(index)
        return points

    def states(self, samples: int) -> Iterator[tuple[int, str, dict[int, list[int]]]]:
        """(crash point, description, chosen changes per node) for every state the model allows that we check."""
        for point in self.crash_points():
            durable: dict[int, list[int]] = {}
            waiting: dict[int, list[int]] = {}
            for node_index in range(len(self.nodes)):
                durable[node_index], waiting[node_index] = self.pending(node_index, point)
            nothing = dict(durable)
            everything = {node: durable[node] + waiting[node] for node in durable}
            yield point, NOTHING, nothing
            yield point, "everything reached the disk", everything
            for node_index, changes in waiting.items():
                if not changes:
                    continue
                name = self.name_of(node_index, point)
                for option, what in self.variants(node_index, changes, samples, point):
                    for base, others in ((nothing, "nothing else"), (everything, "everything else")):
                        if option == base[node_index][len(durable[node_index]):]:
                            continue  # the base itself, already counted
                        chosen = dict(base)
                        chosen[node_index] = durable[node_index] + option
                        yield point, f"{name}: {what} of its unsynced changes, {others}", chosen

    def variants(self, node: int, changes: list[int], samples: int, point: int) -> list[tuple[list[int], str]]:
        """The subsets of a node's unsynced ``changes`` that may have reached the disk, each with words for it.

        A file's writes arrive in order: sampled prefixes. A folder's entry
        changes in any order: each prefix, each one alone, all but each one.
        """
        count = len(changes)
        if self.nodes[node].kind == "file":
            cuts = sorted({0, count} | {round(count * k / (samples + 1)) for k in range(1, samples + 1)})
            options = [(changes[:cut], f"the first {cut} of {count}") for cut in cuts]
        else:
            options = [(changes[:cut], f"the first {cut} of {count}") for cut in range(count + 1)]
            options += [([change], f"only {self.describe(change)[len('after '):]}") for change in changes]
            options += [([c for c in changes if c != change], f"all but {self.describe(change)[len('after '):]}")
                        for change in changes]
        unique: list[tuple[list[int], str]] = []
        for option, what in options:
            if option not in [known for known, _ in unique]:
                unique.append((option, what))
        return unique

    def describe(self, point: int) -> str:
        """The crash point in words: "after rename backups/x.partial -> backups/x"."""
        event = self.events[point]
        if event.kind == "marker":
            return "once the call had returned"
        if event.kind in ("link", "unlink"):
            what = self.path_of(event.detail[0], point) + event.detail[1]
        elif event.kind == "rename":
            source_folder, source_name, folder, name, _ = event.detail
            what = f"{self.path_of(source_folder, point)}{source_name} -> {self.path_of(folder, point)}{name}"
        else:
            what = self.name_of(event.node, point)
        return f"after {event.call.split()[0]} {what}"

    def name_of(self, node: int, point: int) -> str:
        """A path that ``node`` had at or before ``point``, relative to the folder."""
        for event in reversed(self.events[: point + 1]):
            if event.kind == "link" and event.detail[2] == node:
                return self.path_of(event.detail[0], point) + event.detail[1]
            if event.kind == "rename" and event.detail[4] == node:
                return self.path_of(event.detail[2], point) + event.detail[3]
        return self.path_of(node, point).rstrip("/") or "."

    def path_of(self, node: int, point: int) -> str:
        if node == self.root_node:
            return ""
        for folder_index, folder in enumerate(self.nodes):
            if folder.kind == "dir":
                for name, target in folder.initial.items():  # type: ignore[union-attr]
                    if target == node:
                        return self.path_of(folder_index, point) + name + "/"
        for event in self.events[: point + 1]:
            if event.kind == "link" and event.detail[2] == node:
                return self.path_of(event.detail[0], point) + event.detail[1] + "/"
        return f"<node {node}>/"


def read_tree(folder: Path) -> dict[str, bytes | None]:
    """Relative path -> bytes (None for a folder) of everything under ``folder``: the tree before an operation."""
    tree: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        tree[path.relative_to(folder).as_posix()] = None if path.is_dir() else path.read_bytes()
    return tree


def replay(calls: Sequence[Call], root: str, before: dict[str, bytes | None], marker: str) -> History:
    """The changes ``calls`` made under the folder ``root``, which held the tree ``before`` (read_tree) first."""
    root = os.path.realpath(root)
    history = History(root, [], [])
    entries: dict[int, dict[str, int]] = {}  # the live view: folder node -> name -> node
    data: dict[int, bytearray] = {}

    def add_node(kind: str, content: bytes | dict[str, int]) -> int:
        history.nodes.append(Node(kind, content))
        index = len(history.nodes) - 1
        if kind == "dir":
            entries[index] = dict(content)  # type: ignore[arg-type]
        else:
            data[index] = bytearray(content)  # type: ignore[arg-type]
        return index

    folders = {"": add_node("dir", {})}
    for relative, content in sorted(before.items()):  # parents sort before their children
        parent, _, entry = relative.rpartition("/")
        node = add_node("dir" if content is None else "file", {} if content is None else content)
        if content is None:
            folders[relative] = node
        entries[folders[parent]][entry] = node
        history.nodes[folders[parent]].initial = dict(entries[folders[parent]])
    fds: dict[tuple[int, int], int] = {}
    positions: dict[tuple[int, int], int] = {}
    appending: set[tuple[int, int]] = set()

    def inside(path: str | None) -> bool:
        return path is not None and (path == root or path.startswith(root + "/"))

    def resolve(path: str) -> tuple[int, str]:
        """(folder node, name) of an absolute path under root; TraceError if its folder is not in the model."""
        relative = posixpath.relpath(path, root)
        parts = relative.split("/")
        folder = history.root_node
        for part in parts[:-1]:
            target = entries[folder].get(part)
            if target is None or history.nodes[target].kind != "dir":
                raise TraceError(f"{path}: its folder is not in the model")
            folder = target
        return folder, parts[-1]

    def lookup(path: str) -> int | None:
        if path == root:
            return history.root_node
        folder, name = resolve(path)
        return entries[folder].get(name)

    def absolute(dirfd_text: str | None, path: bytes) -> str:
        text = os.fsdecode(path)
        if not text.startswith("/"):
            if dirfd_text is None:
                raise TraceError(f"relative path {text!r} without a folder")
            _, base = fd_argument(dirfd_text)
            if base is None:
                raise TraceError(f"relative path {text!r} from an unknown folder")
            text = posixpath.join(base, text)
        return posixpath.normpath(text)

    def add(kind: str, node: int, detail: tuple, call: Call) -> None:
        index = len(history.events)
        history.events.append(Event(kind, node, detail, f"{call.name} (strace line {call.line})"))
        if kind in ("write", "truncate", "link", "unlink", "rename"):
            history.nodes[node].changes.append(index)
        elif kind == "sync":
            history.nodes[node].syncs.append(index)

    def node_of_fd(call: Call, text: str) -> int | None:
        number, path = fd_argument(text)
        node = fds.get((call.pid, number))
        if node is None and inside(path):
            raise TraceError(f"line {call.line}: fd {number} on {path} was opened in a way the model missed")
        return node

    def write(call: Call, node: int, key: tuple[int, int], chunk: bytes, offset: int | None) -> None:
        if offset is None:
            offset = len(data[node]) if key in appending else positions.get(key, 0)
            positions[key] = offset + len(chunk)
        buffer = data[node]
        if len(buffer) < offset:
            buffer.extend(b"\0" * (offset - len(buffer)))
        buffer[offset : offset + len(chunk)] = chunk
        add("write", node, (offset, chunk), call)

    def unlink(call: Call, path: str) -> None:
        folder, name = resolve(path)
        if name in entries[folder]:
            del entries[folder][name]
            add("unlink", folder, (folder, name), call)

    for call in calls:
        name, args = call.name, call.args
        if name in ("openat", "open", "creat"):
            dirfd = args[0] if name == "openat" else None
            path = absolute(dirfd, string_argument(args[1 if name == "openat" else 0]))
            if path == marker:
                add("marker", history.root_node, (), call)
                continue
            if not inside(path):
                continue
            flags = args[2] if name == "openat" else args[1] if name == "open" else "O_CREAT|O_WRONLY|O_TRUNC"
            node = lookup(path)
            if node is None:
                if "O_CREAT" not in flags:
                    raise TraceError(f"line {call.line}: {path} opened but not in the model")
                folder, entry = resolve(path)
                node = len(history.nodes)
                history.nodes.append(Node("file", b""))
                data[node] = bytearray()
                entries[folder][entry] = node
                add("link", folder, (folder, entry, node), call)
            elif "O_TRUNC" in flags and history.nodes[node].kind == "file" and data[node]:
                del data[node][:]
                add("truncate", node, (0,), call)
            key = (call.pid, call.result)
            fds[key] = node
            positions[key] = 0
            appending.discard(key)
            if "O_APPEND" in flags:
                appending.add(key)
        elif name in ("write", "pwrite64", "writev", "pwritev", "pwritev2"):
            node = node_of_fd(call, args[0])
            if node is None:
                continue
            key = (call.pid, fd_argument(args[0])[0])
            if name.endswith("v") or name.endswith("v2"):
                chunk = b"".join(string_argument(match.group(0)) for match in HEX_STRING.finditer(args[1]))
            else:
                chunk = string_argument(args[1])
            if len(chunk) != call.result:
                chunk = chunk[: call.result]  # a short write: only what was written
            write(call, node, key, chunk, int(args[3], 0) if name in ("pwrite64", "pwritev", "pwritev2") else None)
        elif name == "lseek":
            key = (call.pid, fd_argument(args[0])[0])
            if node_of_fd(call, args[0]) is not None:
                positions[key] = call.result
        elif name in ("ftruncate", "truncate"):
            if name == "ftruncate":
                node = node_of_fd(call, args[0])
            else:
                path = absolute(None, string_argument(args[0]))
                node = lookup(path) if inside(path) else None
            if node is None:
                continue
            size = int(args[1], 0)
            buffer = data[node]
            del buffer[size:]
            buffer.extend(b"\0" * (size - len(buffer)))
            add("truncate", node, (size,), call)
        elif name == "fallocate":
            node = node_of_fd(call, args[0])
            if node is None:
                continue
            if args[1] not in ("0",):
                raise TraceError(f"line {call.line}: fallocate mode {args[1]} is not modelled")
            end = int(args[2], 0) + int(args[3], 0)
            if end > len(data[node]):
                data[node].extend(b"\0" * (end - len(data[node])))
                add("truncate", node, (end,), call)
        elif name in ("fsync", "fdatasync"):
            node = node_of_fd(call, args[0])
            if node is not None:
                add("sync", node, (), call)
        elif name in ("sync", "syncfs"):
            add("syncall", history.root_node, (), call)
        elif name in ("rename", "renameat", "renameat2"):
            if name == "rename":
                old, new = (absolute(None, string_argument(a)) for a in args[:2])
            else:
                old = absolute(args[0], string_argument(args[1]))
                new = absolute(args[2], string_argument(args[3]))
                if name == "renameat2" and args[4] not in ("0",):
                    raise TraceError(f"line {call.line}: renameat2 flags {args[4]} are not modelled")
            if not inside(old) and not inside(new):
                continue
            if not (inside(old) and inside(new)):
                raise TraceError(f"line {call.line}: a rename into or out of the folder ({old} -> {new})")
            source_folder, source_name = resolve(old)
            folder, entry = resolve(new)
            node = entries[source_folder].pop(source_name)
            entries[folder][entry] = node
            add("rename", folder, (source_folder, source_name, folder, entry, node), call)
        elif name in ("unlink", "unlinkat", "rmdir"):
            path = absolute(args[0] if name == "unlinkat" else None, string_argument(args[1 if name == "unlinkat" else 0]))
            if inside(path):
                unlink(call, path)
        elif name in ("mkdir", "mkdirat"):
            path = absolute(args[0] if name == "mkdirat" else None, string_argument(args[1 if name == "mkdirat" else 0]))
            if inside(path):
                folder, entry = resolve(path)
                node = len(history.nodes)
                history.nodes.append(Node("dir", {}))
                entries[node] = {}
                entries[folder][entry] = node
                add("link", folder, (folder, entry, node), call)
        elif name in ("link", "linkat"):
            if name == "link":
                old, new = (absolute(None, string_argument(a)) for a in args[:2])
            else:
                old = absolute(args[0], string_argument(args[1]))
                new = absolute(args[2], string_argument(args[3]))
            if not inside(new):
                continue
            node = lookup(old) if inside(old) else None
            if node is None:
                raise TraceError(f"line {call.line}: a hard link to {old}, which is not in the model")
            folder, entry = resolve(new)
            entries[folder][entry] = node  # a second name for the same file: it shares its content
            add("link", folder, (folder, entry, node), call)
        elif name == "close":
            key = (call.pid, fd_argument(args[0])[0])
            fds.pop(key, None)
        elif name in ("dup", "dup2", "dup3") or (name == "fcntl" and args[1].startswith("F_DUPFD")):
            key = (call.pid, fd_argument(args[0])[0])
            if key in fds:
                fds[(call.pid, call.result)] = fds[key]
                positions[(call.pid, call.result)] = positions.get(key, 0)
        elif name in ("sendfile", "copy_file_range"):
            out_text, in_text = (args[0], args[1]) if name == "sendfile" else (args[2], args[0])
            target, source = node_of_fd(call, out_text), node_of_fd(call, in_text)
            if target is None:
                continue
            if source is None:
                raise TraceError(f"line {call.line}: {name} from outside the folder is not modelled")
            in_key, out_key = (call.pid, fd_argument(in_text)[0]), (call.pid, fd_argument(out_text)[0])
            offset_text = args[2] if name == "sendfile" else args[1]
            start = int(offset_text.strip("[]"), 0) if offset_text not in ("NULL",) else positions.get(in_key, 0)
            if offset_text == "NULL":
                positions[in_key] = start + call.result
            chunk = bytes(data[source][start : start + call.result])
            out_offset = None if name == "sendfile" or args[3] == "NULL" else int(args[3].strip("[]"), 0)
            write(call, target, out_key, chunk, out_offset)
        elif name == "mmap":
            if len(args) >= 5 and "MAP_SHARED" in args[3] and "PROT_WRITE" in args[2]:
                number, path = fd_argument(args[4])
                if inside(path) and not (path or "").endswith("-shm"):
                    raise TraceError(f"line {call.line}: a writable shared map of {path} is not modelled")
    return history


# Running the traced operation ----------------------------------------------------------------------------------


def trace_command(folder: Path, argv: Sequence[str], marker: Path) -> History:
    """Run ``argv`` under strace; the History of what it did under ``folder`` (``marker``: see power_child.py)."""
    log = folder.parent / (folder.name + ".strace")
    command = ["strace", "-f", "-qq", "-y", "-xx", "-s", str(1 << 24), "-o", str(log), "-e", f"trace={TRACED_CALLS}",
               *argv]
    if shutil.which("strace") is None:
        raise SystemExit("The power-cut scenario needs strace (apt-get install strace; .ci/run installs it).")
    before = read_tree(folder)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if done.returncode != 0:
        raise AssertionError(f"the traced process failed ({done.returncode}): {done.stdout}{done.stderr[-2000:]}")
    return replay(parse_trace(log.read_text()), str(folder), before, str(marker))


def materialise(history: History, layout: dict[str, tuple[int, int] | None], folder: Path) -> None:
    """Write the files of ``layout`` (History.layout) under ``folder``."""
    folder.mkdir(parents=True)
    for relative, content in sorted(layout.items()):
        target = folder / relative
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(history.content(*content))
