"""Power cuts: trace an operation's file system calls, rebuild what a power cut may leave on disk, check each state.

The operation (a production launch that migrates and takes its pre-update
backup, ``Database.backup()`` (what ``app-db backup`` calls),
``Database.restore(FILE)``, and a restore over a damaged file) runs in a
real process (power_child.py) under ``strace -xx``, which records every
write with its bytes (so a range written twice is rebuilt as it was at each
point, not from the final file), every rename, link, unlink, fsync and close. The calls on files
under the app's folder are replayed on a model of that folder, and at each
crash point the model yields the file trees a power cut may leave:

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
unsynced survived first, then others spread over the trace). Each tree is written to a folder and checked
(``state_problems``): the database is whole and is the state before or the
state after; every backup under its final name is a complete copy of a
known state; the copy the operation takes exists whenever the database
shows the operation done, and whenever the operation had returned; no old
backup is gone before the new one is on disk; a normal launch (in a
subprocess) then completes and reaches the migrated state.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from .scenarios import BATCH, Outcome, connect, health_problems, initial_up, migration_text, state_of

POWER_CHILD = Path(__file__).resolve().parent / "power_child.py"
DATABASE = "app.sqlite3"
BACKUPS = "backups"

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
    args: List[str]
    result: int
    result_path: Optional[str]  # the path strace -y shows beside a returned fd
    line: int


def decode(text: str) -> bytes:
    return bytes.fromhex(text.replace("\\x", ""))


def split_arguments(text: str) -> List[str]:
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


def parse_trace(text: str) -> List[Call]:
    """The completed calls of an ``strace -f -y -xx`` log, in the order they returned; failed calls dropped."""
    calls: List[Call] = []
    unfinished: Dict[int, str] = {}
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


def fd_argument(text: str) -> Tuple[int, Optional[str]]:
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
    initial: Union[bytes, Dict[str, int]]
    changes: List[int] = field(default_factory=list)  # indices into History.events
    syncs: List[int] = field(default_factory=list)


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
    nodes: List[Node]
    events: List[Event]
    root_node: int = 0
    _contents: Dict[Tuple[int, int], bytes] = field(default_factory=dict, repr=False)

    # The file trees a crash may leave -------------------------------------------------------------------
    def pending(self, node: int, point: int) -> Tuple[List[int], List[int]]:
        """(durable, pending) change indices of ``node`` at crash point ``point`` (an event index)."""
        synced = max([index for index in self.nodes[node].syncs if index <= point]
                     + [index for index in self.sync_alls if index <= point] + [-1])
        changes = [index for index in self.nodes[node].changes if index <= point]
        return [i for i in changes if i < synced], [i for i in changes if i > synced]

    @property
    def sync_alls(self) -> List[int]:
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

    def layout(self, chosen: Dict[int, Sequence[int]]) -> Dict[str, Optional[Tuple[int, int]]]:
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
        files: Dict[str, Optional[Tuple[int, int]]] = {}

        def walk(folder: int, prefix: str, seen: Set[int]) -> None:
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

    def crash_points(self) -> List[int]:
        """After each call that names, unnames or syncs; after the last write of a run of writes; the end."""
        points = []
        for index, event in enumerate(self.events):
            following = self.events[index + 1] if index + 1 < len(self.events) else None
            is_write = event.kind in ("write", "truncate")
            if not is_write or following is None or following.kind not in ("write", "truncate"):
                points.append(index)
        return points

    def states(self, samples: int) -> Iterator[Tuple[int, str, Dict[int, List[int]]]]:
        """(crash point, description, chosen changes per node) for every state the model allows that we check."""
        for point in self.crash_points():
            durable: Dict[int, List[int]] = {}
            waiting: Dict[int, List[int]] = {}
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

    def variants(self, node: int, changes: List[int], samples: int, point: int) -> List[Tuple[List[int], str]]:
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
        unique: List[Tuple[List[int], str]] = []
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


def read_tree(folder: Path) -> Dict[str, Optional[bytes]]:
    """Relative path -> bytes (None for a folder) of everything under ``folder``: the tree before an operation."""
    tree: Dict[str, Optional[bytes]] = {}
    for path in sorted(folder.rglob("*")):
        tree[path.relative_to(folder).as_posix()] = None if path.is_dir() else path.read_bytes()
    return tree


def replay(calls: Sequence[Call], root: str, before: Dict[str, Optional[bytes]], marker: str) -> History:
    """The changes ``calls`` made under the folder ``root``, which held the tree ``before`` (read_tree) first."""
    root = os.path.realpath(root)
    history = History(root, [], [])
    entries: Dict[int, Dict[str, int]] = {}  # the live view: folder node -> name -> node
    data: Dict[int, bytearray] = {}

    def add_node(kind: str, content: Union[bytes, Dict[str, int]]) -> int:
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
    fds: Dict[Tuple[int, int], int] = {}
    positions: Dict[Tuple[int, int], int] = {}
    appending: Set[Tuple[int, int]] = set()

    def inside(path: Optional[str]) -> bool:
        return path is not None and (path == root or path.startswith(root + "/"))

    def resolve(path: str) -> Tuple[int, str]:
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

    def lookup(path: str) -> Optional[int]:
        if path == root:
            return history.root_node
        folder, name = resolve(path)
        return entries[folder].get(name)

    def absolute(dirfd_text: Optional[str], path: bytes) -> str:
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

    def node_of_fd(call: Call, text: str) -> Optional[int]:
        number, path = fd_argument(text)
        node = fds.get((call.pid, number))
        if node is None and inside(path):
            raise TraceError(f"line {call.line}: fd {number} on {path} was opened in a way the model missed")
        return node

    def write(call: Call, node: int, key: Tuple[int, int], chunk: bytes, offset: Optional[int]) -> None:
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
    before = read_tree(folder)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if done.returncode != 0:
        raise AssertionError(f"the traced process failed ({done.returncode}): {done.stdout}{done.stderr[-2000:]}")
    return replay(parse_trace(log.read_text()), str(folder), before, str(marker))


def trace_operation(folder: Path, options: dict, marker: Path) -> History:
    """Run power_child.py ``run`` (a launch, backup or restore) under strace on ``folder``."""
    history = trace_command(folder, [sys.executable, str(POWER_CHILD), "run", json.dumps({**options, "marker": str(marker)})],
                            marker)
    if not any(event.kind == "marker" for event in history.events):
        raise AssertionError(f"the traced {options['action']} never returned")
    return history


# Checking one state -------------------------------------------------------------------------------------------


def digest(path: Path) -> str:
    """A digest of schema and rows (state_of): two files with the same one hold the same data."""
    return hashlib.sha256("\n".join(state_of(path)).encode()).hexdigest()[:16]


@dataclass
class Expectation:
    """What a state must show for one operation (digests from ``digest``)."""

    action: str
    old: str  # the database before the operation
    new: str  # the database once it is done
    copy: str  # the backup the operation takes
    copy_name: str  # "pre-update backup", ...
    known: Set[str]  # every state a backup may hold
    seeded: Set[str]  # backups there before the operation (names)
    source: Optional[str] = None  # restore: the file restored from, relative to the folder
    after: str = ""  # what the next launch must reach
    damaged: Optional[bytes] = None  # restore over a damaged file: its bytes (then ``old`` names it, and
    # the copy is that file kept beside the database as <name>.damaged-*)

    def is_damaged(self, path: Path) -> bool:
        """``path`` holds the damaged file, byte for byte (it is not for SQLite to judge)."""
        return self.damaged is not None and path.is_file() and path.read_bytes() == self.damaged


def final_backups(folder: Path) -> List[Path]:
    """Backups under their final names: not a .partial copy nor a journal, WAL or shm file of one."""
    backups = folder / BACKUPS
    return sorted(entry for entry in backups.iterdir()
                  if entry.is_file() and ".partial" not in entry.name and not entry.name.endswith(("-journal", "-wal", "-shm"))
                  ) if backups.is_dir() else []


Verdict = Tuple[List[str], Optional[str]]  # (health problems, digest or None when unreadable)


def judge_file(path: Path, scratch: Path) -> Verdict:
    """health_problems and digest of a SQLite file, checked on a copy (with its journal or WAL) in ``scratch``.

    Opening a file after a crash rolls back its journal or replays its WAL:
    on a copy, the state folder stays as the power cut left it for the next
    launch.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for sibling in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal"))):
        if sibling.is_file():
            shutil.copyfile(sibling, scratch / sibling.name)
    copy = scratch / path.name
    try:
        return health_problems(copy), digest(copy)
    except sqlite3.DatabaseError as exc:
        return [f"cannot be read: {exc}"], None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def state_problems(folder: Path, expected: Expectation, returned: bool, judge=None) -> List[str]:
    """What is wrong with the files a power cut left in ``folder`` (empty: nothing).

    ``judge(path) -> Verdict`` looks at one SQLite file (default: judge_file
    on a scratch folder beside ``folder``).
    """
    judge = judge or (lambda path: judge_file(path, folder.parent / (folder.name + "-scratch")))
    database = folder / DATABASE
    if not database.is_file() or database.stat().st_size == 0:
        return ["the database is missing or empty"]
    trouble, current = ((), expected.old) if expected.is_damaged(database) else judge(database)
    problems = list(trouble)  # verdicts are shared between states: never append to one
    if current is not None and current not in (expected.old, expected.new):
        problems.append("the database is neither the state before the operation nor the state after it")
    copies: Dict[str, Optional[str]] = {}
    for backup in final_backups(folder):
        trouble, copies[backup.name] = judge(backup)
        if trouble or copies[backup.name] not in expected.known:
            problems.append(f"a backup under its final name is not a complete copy" + (f" ({'; '.join(trouble)})" if trouble else ""))
    if expected.damaged is not None:
        has_copy = any(expected.is_damaged(entry) for entry in folder.glob(DATABASE + ".damaged-*"))
    else:
        has_copy = expected.copy in copies.values()
    if expected.new != expected.old and current == expected.new and not has_copy:
        problems.append(f"the database is {expected.action} but its {expected.copy_name} is not on disk")
    if returned and current != expected.new:
        problems.append(f"{expected.action} had returned, but the power cut undid it")
    if returned and not has_copy:
        problems.append(f"{expected.action} had returned, but its {expected.copy_name} is not on disk")
    if not expected.seeded <= set(copies) and not has_copy:
        problems.append(f"an older backup was deleted before the {expected.copy_name} was on disk")
    if expected.source is not None:
        source = folder / expected.source
        if not source.is_file() or judge(source)[1] != expected.new:
            problems.append("the file restored from is gone or changed")
    return problems


def caching_judge(scratch: Path):
    """judge_file, remembered by the bytes of the file and its journal or WAL (backups repeat across states)."""
    verdicts: Dict[str, Verdict] = {}

    def judge(path: Path) -> Verdict:
        key = hashlib.sha256()
        for sibling in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal"))):
            key.update(sibling.read_bytes() if sibling.is_file() else b"-")
            key.update(b"|")
        name = key.hexdigest()
        if name not in verdicts:
            verdicts[name] = judge_file(path, scratch)
        return verdicts[name]

    return judge


def launch_all(folders: Sequence[Path], migrations: Path) -> List[dict]:
    """A normal production launch of each folder's database, in one child process (power_child.py launch)."""
    options = {"paths": [str(folder / DATABASE) for folder in folders], "migrations": str(migrations)}
    done = subprocess.run([sys.executable, str(POWER_CHILD), "launch", json.dumps(options)],
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return [{"ok": False, "error": "no report", "message": done.stderr[-1000:]} for _ in folders]
    return json.loads(lines[-1])["results"]


def materialise(history: History, layout: Dict[str, Optional[Tuple[int, int]]], folder: Path) -> None:
    """Write the files of ``layout`` (History.layout) under ``folder``."""
    folder.mkdir(parents=True)
    for relative, content in sorted(layout.items()):
        target = folder / relative
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(history.content(*content))


@dataclass
class CrashReport:
    """The states of one operation: how many were checked, and what failed where."""

    action: str
    calls: int
    points: int
    states: int = 0
    distinct: int = 0
    failures: Dict[str, List[str]] = field(default_factory=dict)  # problem -> where (crash point, state)
    failed: int = 0  # states with at least one problem

    def summary(self) -> List[str]:
        return [f"{self.action}: {len(where)} state(s): {problem}; e.g. {where[0]}" for problem, where in sorted(self.failures.items())]


def check_history(history: History, expected: Expectation, migrations: Path, work: Path, samples: int,
                  limit: int = 0, batch: int = 40, name: str = "") -> CrashReport:
    """Every state of ``history`` (History.states), each distinct tree checked once, then launched.

    ``limit`` > 0 checks only that many distinct trees, spread evenly over
    the trace (the short scale); the states counted are those checked.
    """
    report = CrashReport(name or expected.action, len(history.events), len(history.crash_points()))
    marker = next((index for index, event in enumerate(history.events) if event.kind == "marker"), None)
    distinct: Dict[Tuple[tuple, bool], List[str]] = {}
    for point, description, chosen in history.states(samples):
        layout = history.layout(chosen)
        returned = marker is not None and point >= marker
        key = (tuple(sorted(layout.items())), returned)
        report.states += 1
        distinct.setdefault(key, []).append(f"{history.describe(point)}, {description}")
    keys = list(distinct)
    if 0 < limit < len(keys):
        # The states where nothing unsynced survived first: one per sync, they
        # find a missing fsync. Then the others, spread evenly over the trace.
        first = [key for key in keys if any(where.endswith(NOTHING) for where in distinct[key])][:limit]
        rest = [key for key in keys if key not in first]
        room = limit - len(first)
        keys = first + [rest[round(k * (len(rest) - 1) / max(room - 1, 1))] for k in range(room)] if room > 0 else first
        keys = sorted(set(keys), key=list(distinct).index)
    report.distinct = len(keys)
    report.states = sum(len(distinct[key]) for key in keys)
    problems: Dict[Tuple[tuple, bool], List[str]] = {}
    judge = caching_judge(work / "scratch")
    for number, key in enumerate(keys):
        folder = work / f"state-{number}"
        materialise(history, dict(key[0]), folder)
        problems[key] = state_problems(folder, expected, returned=key[1], judge=judge)
    chunks = [keys[start : start + batch] for start in range(0, len(keys), batch)]
    folders = {key: work / f"state-{keys.index(key)}" for key in keys}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda chunk: launch_all([folders[key] for key in chunk], migrations), chunks))
    for chunk, chunk_results in zip(chunks, results):
        for key, result in zip(chunk, chunk_results):
            if result.get("error") == "DatabaseCorruptError" and expected.is_damaged(folders[key] / DATABASE):
                pass  # still the damaged file, refused and left as it was: restoring is the user's next step
            elif not result.get("ok"):
                problems[key].append(f"the next launch failed: {result.get('error')}: {result.get('message')}")
            else:
                trouble, reached = judge(folders[key] / DATABASE)
                problems[key] = problems[key] + list(trouble)
                if reached != expected.after:
                    problems[key].append("the next launch did not reach the migrated state")
            for problem in problems[key]:
                report.failures.setdefault(problem, []).extend(distinct[key])
            if problems[key]:
                report.failed += len(distinct[key])
    shutil.rmtree(work, ignore_errors=True)
    return report


# The scenario ---------------------------------------------------------------------------------------------------

NOTES = 300  # a small file: every state is written out and launched
INITIAL = initial_up(NOTES)
FIRST_BATCH_ID = BATCH[0][1]


@dataclass
class World:
    """The files every operation starts from: the database before (B) and after (A) the batch, an earlier copy (E)."""

    root: Path
    migrations: Path
    before: Path
    after: Path
    earlier: Path
    before_backup: Path  # B as backup.py writes a copy: rollback-journal mode, one file
    digests: Dict[str, str]


def build_world(root: Path) -> World:
    from .scenarios import launch

    root.mkdir(parents=True, exist_ok=True)
    migrations = root / "migrations"
    migrations.mkdir()
    (migrations / "001_initial.py").write_text(migration_text("20240601_090000_initial", INITIAL))
    before = root / "before" / DATABASE
    result = launch(before, migrations)
    assert result.get("ok"), result
    for filename, migration_id, up in BATCH:
        (migrations / filename).write_text(migration_text(migration_id, up))
    earlier = root / "earlier" / DATABASE
    earlier.parent.mkdir()
    shutil.copy2(before, earlier)
    connection = connect(earlier)
    connection.execute("DELETE FROM tag WHERE id % 3 = 0")
    connection.execute("PRAGMA journal_mode = DELETE")  # as backups are: one self-contained file
    connection.commit()
    connection.close()
    after = root / "after" / DATABASE
    after.parent.mkdir()
    shutil.copy2(before, after)
    result = launch(after, migrations)
    assert result.get("ok") and len(result["applied"]) == len(BATCH), result
    shutil.rmtree(after.parent / BACKUPS, ignore_errors=True)
    before_backup = root / "before-backup" / DATABASE
    before_backup.parent.mkdir()
    shutil.copy2(before, before_backup)
    connection = connect(before_backup)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    digests = {"B": digest(before), "A": digest(after), "E": digest(earlier)}
    assert len(set(digests.values())) == 3, digests
    return World(root, migrations, before, after, earlier, before_backup, digests)


SEEDED_LABELS = ["manual", "before-restore", "before-20240601_090000_initial", "manual", "before-rollback-20240601_090000_initial"]


def seed_backups(folder: Path, world: World, newest: Optional[Path] = None) -> Set[str]:
    """Five older backups of mixed kinds (copies of E, or ``newest`` last), named as backup.py names them."""
    backups = folder / BACKUPS
    backups.mkdir(parents=True)
    names = set()
    for day, label in enumerate(SEEDED_LABELS, start=1):
        source = newest if newest is not None and day == len(SEEDED_LABELS) else world.earlier
        if source is newest:
            label = f"before-{FIRST_BATCH_ID}"
        name = f"app-202401{day:02d}-090000-000000-{label}.sqlite3"
        shutil.copy2(source, backups / name)
        names.add(name)
    return names


OPERATIONS = {
    "launch": "production launch that migrates",
    "backup": "Database.backup()",
    "cli-backup": "app-db backup",
    "restore": "Database.restore(FILE)",
    "restore-damaged": "Database.restore(FILE) over a damaged file",
}


def prepare(action: str, world: World, folder: Path) -> Tuple[dict, Expectation]:
    """The folder one operation starts from, the child's options, and what its states must show."""
    digests = world.digests
    folder.mkdir(parents=True)
    options: dict = {"action": action, "path": str(folder / DATABASE), "migrations": str(world.migrations)}
    if action == "launch":
        shutil.copy2(world.before, folder / DATABASE)
        seeded = seed_backups(folder, world)
        expected = Expectation("migrated", digests["B"], digests["A"], digests["B"], "pre-update backup",
                               {digests["E"], digests["B"]}, seeded)
    elif action in ("backup", "cli-backup"):
        shutil.copy2(world.after, folder / DATABASE)
        (folder.parent / "power_cut_app.py").write_text(
            f"from app_db import Database\n\ndatabase = Database('PowerCutApp', migrations={str(world.migrations)!r})\n")
        options["project"] = str(folder.parent)
        seeded = seed_backups(folder, world)
        expected = Expectation("backed up", digests["A"], digests["A"], digests["A"], "new backup",
                               {digests["E"], digests["A"]}, seeded)
    else:  # restore, over the migrated file or over a damaged one
        damaged = action == "restore-damaged"
        content = world.after.read_bytes()
        (folder / DATABASE).write_bytes(b"not a database!!" + content[16:] if damaged else content)
        seeded = seed_backups(folder, world, newest=world.before_backup)
        source = sorted(seeded)[-1]
        options.update(action="restore", source=str(folder / BACKUPS / source))
        expected = Expectation("restored", "damaged" if damaged else digests["A"], digests["B"], digests["A"],
                               "damaged file kept aside" if damaged else "before-restore backup",
                               {digests["E"], digests["A"], digests["B"]}, seeded, source=f"{BACKUPS}/{source}",
                               damaged=(folder / DATABASE).read_bytes() if damaged else None)
    expected.after = digests["A"]
    return options, expected


def power_cut_operation(world: World, action: str, samples: int, limit: int = 0) -> CrashReport:
    """Trace ``action`` once on a fresh folder, then check every state a power cut may leave."""
    run = Path(tempfile.mkdtemp(prefix=f"{action}-", dir=world.root))
    folder = run / "app"
    options, expected = prepare(action, world, folder)
    history = trace_operation(folder, options, run / "returned")
    report = check_history(history, expected, world.migrations, run / "states", samples, limit, name=OPERATIONS[action])
    shutil.rmtree(run, ignore_errors=True)
    return report


def power_cuts(root: Path, samples: int, limit: int = 0, actions: Sequence[str] = tuple(OPERATIONS)) -> Tuple[Outcome, List[CrashReport]]:
    """The scenario: every operation's states, as one Outcome (a run is one state checked).

    ``samples``: prefixes tried for each file's unsynced writes, besides none
    and all; ``limit``: distinct trees checked per operation (0: all).
    """
    world = build_world(root)
    reports = [power_cut_operation(world, action, samples, limit) for action in actions]
    states = sum(report.states for report in reports)
    outcome = Outcome(
        "Power cut at every point of a launch, a backup and a restore (strace, model of what survives)", states,
        "only fsynced data and fsynced directory entries survive, unsynced writes as prefixes, unsynced entries in "
        "any subset; database old or new with integrity ok; every final-named backup a complete copy; the "
        "pre-update / before-restore backup there whenever the database shows the change, and once the call "
        "returned; next launch completes",
    )
    outcome.survived = states - sum(report.failed for report in reports)
    for report in reports:
        outcome.failures += report.summary()
    outcome.notes = "; ".join(f"{report.action}: {report.states} states ({report.distinct} distinct) at "
                              f"{report.points} crash points, {report.failed} failed" for report in reports)
    return outcome, reports


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tests.stress.power_cut [--scale S] [OPERATION ...]``: each operation's states, and what failed where."""
    import argparse

    from .scenarios import SCALES, current_scale

    parser = argparse.ArgumentParser(prog="python -m tests.stress.power_cut", description=main.__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default=None)
    parser.add_argument("operations", nargs="*", metavar="OPERATION", help=f"any of {', '.join(OPERATIONS)} (default: all)")
    options = parser.parse_args(argv)
    unknown = sorted(set(options.operations) - set(OPERATIONS))
    if unknown:
        parser.error(f"unknown operation(s) {', '.join(unknown)}: use {', '.join(OPERATIONS)}")
    runs = SCALES[options.scale or current_scale()]
    root = Path(tempfile.mkdtemp(prefix="app-db-power-cut-"))
    try:
        outcome, reports = power_cuts(root, runs["power_cut_samples"], runs["power_cut_states"],
                                      options.operations or tuple(OPERATIONS))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for report in reports:
        print(f"{report.action}: {report.states} states ({report.distinct} distinct) at {report.points} crash points "
              f"of {report.calls} changes and syncs; {report.failed} failed")
        for problem, where in sorted(report.failures.items()):
            print(f"  {len(where)} state(s): {problem}")
            for place in where[:3]:
                print(f"      e.g. {place}")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
