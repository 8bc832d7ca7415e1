"""Which process serves a TCP connection (Linux ``/proc``): tells the API processes of
``serve --workers N`` apart without anything in the server that says who it is."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

from tests.support.server import ServerProcess


def _socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server end of the loopback connection ``client_port`` → ``server_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if int(local.rsplit(":", 1)[1], 16) == server_port and (
                int(remote.rsplit(":", 1)[1], 16) == client_port and inode
            ):
                return inode
    return None


def serving_pid(server_port: int, client_port: int, candidates: list[int]) -> int | None:
    """The pid among ``candidates`` holding the server end of that connection, if any."""
    inode = _socket_inode(server_port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in candidates:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) == wanted:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


class Connection:
    """One keep-alive HTTP connection, and the API process at its other end."""

    def __init__(self, server: ServerProcess, api_pids: list[int]) -> None:
        self.server = server
        self.http = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.http.connect()
        self.api_pids = api_pids
        self.pid: int | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        headers = {"Cookie": cookie, **(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        text = response.read().decode()
        assert self.http.sock is not None
        client_port = self.http.sock.getsockname()[1]
        self.pid = serving_pid(self.server.port, client_port, self.api_pids)
        return response.status, text

    def close(self) -> None:
        self.http.close()
