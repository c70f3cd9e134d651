#!/usr/bin/env python3
"""Run the real ``awslabs.mysql-mcp-server`` (1.1.3) against a local MySQL/MariaDB, for the demo and tests.

    tools/awslabs_mysql_local.py --config CONFIG [--out NEW_CONFIG] [--read-only] -- COMMAND ...

starts the surroundings described below, writes NEW_CONFIG (CONFIG plus an ``mcpServers`` block for
the server; default: next to CONFIG, ``<name>.awslabs.local.json``), runs COMMAND (``{config}`` in it
is replaced by NEW_CONFIG's path), stops everything and exits with COMMAND's exit code. The server is
built by ``scripts/mcp-venv.sh awslabs-mysql`` on first use. Example (what ``DEMO_VIA=awslabs-mysql
scripts/demo.sh`` does)::

    .venv/bin/python tools/awslabs_mysql_local.py --config examples/demo-config.json -- \
        .venv/bin/dynamigrate migrate --config {config} --via mcp

Why the surroundings:
the server never dials a host the caller names. With ``--connection_method MYSQL_WIRE_PROTOCOL`` it:

1. connects at start only with ``--db_type`` (and then 1.1.3 fails every later query, awslabs/mcp#4620),
   so ``--db_type`` is left out and dynamigrate opens the connection with the ``connect_to_database``
   tool;
2. calls RDS ``DescribeDBClusters`` for the cluster of ``--db_cluster_arn`` and accepts ``--db_endpoint`` only if it equals
   one of the endpoints AWS advertises; host *and port* are then taken from AWS's answer;
3. reads the user and password from the cluster's ``MasterUserSecret`` (Secrets Manager
   ``GetSecretValue``);
4. always opens TLS with a verified certificate for that host when the password comes from Secrets
   Manager (``--ca_bundle`` names the CA to trust).

Here, moto in server mode answers 2 and 3 (a cluster with a managed master secret whose value is set
to the test's credentials, and whose Port is the proxy's). The endpoint moto advertises,
``<id>.cluster-<hash>.<region>.rds.amazonaws.com``, is resolved to 127.0.0.1 inside the server's
process by a ``sitecustomize`` on its PYTHONPATH (what a hosts entry or DNS does in a deployment), and
4 is met by :class:`TlsUpgradeProxy`, which speaks the MySQL protocol's TLS upgrade with a certificate
for that name (signed by a CA made here) and relays to the local MariaDB, which runs without TLS. The
server's own code runs unchanged.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-west-2"
CLIENT_SSL = 0x800

SITECUSTOMIZE = '''"""Test rig: names under .rds.amazonaws.com resolve to 127.0.0.1 (a hosts entry, for this process)."""
import os
import socket

_suffix = os.environ.get("DM_TEST_RDS_HOST", "").lower()
_real = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if _suffix and isinstance(host, str) and host.lower().endswith(_suffix):
        host = "127.0.0.1"
    return _real(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
'''


def server_exe(which: str) -> str:
    """The executable of a real server built by scripts/mcp-venv.sh (seconds when already there)."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "mcp-venv.sh"), which],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    exe = out.stdout.strip().splitlines()[-1]
    assert Path(exe).exists(), out.stderr
    return exe


def make_certificates(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    """A CA (its PEM is what the server trusts) and a certificate for ``hostname`` signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dynamigrate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dynamigrate test server")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(cert.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _read_exact(sock: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _read_packet(sock: Any) -> tuple[int, bytes]:
    header = _read_exact(sock, 4)
    length = header[0] | header[1] << 8 | header[2] << 16
    return header[3], _read_exact(sock, length)


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


class TlsUpgradeProxy:
    """A local port where clients get the MySQL protocol's TLS upgrade, relayed in clear to MariaDB.

    The server's greeting gains the CLIENT_SSL capability; the client's SSLRequest is answered with a
    TLS handshake; the handshake response and the rest of the authentication exchange are forwarded
    with the SSL flag cleared and sequence numbers shifted by the one packet MariaDB never saw; after
    authentication, bytes flow unchanged both ways.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="tls-proxy").start()

    def use_certificate(self, cert: Path, key: Path) -> None:
        self.context.load_cert_chain(str(cert), str(key))

    def close(self) -> None:
        self._stopped = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        tls: Any = client
        try:
            seq, greeting = _read_packet(upstream)
            # protocol(1) version(NUL-terminated) thread id(4) scramble(8) filler(1) capabilities(2)
            at = greeting.index(b"\0", 1) + 1 + 4 + 8 + 1
            caps = struct.unpack_from("<H", greeting, at)[0] | CLIENT_SSL
            greeting = greeting[:at] + struct.pack("<H", caps) + greeting[at + 2 :]
            client.sendall(_packet(seq, greeting))
            seq, request = _read_packet(client)
            if not struct.unpack_from("<I", request, 0)[0] & CLIENT_SSL:
                raise ConnectionError("the client did not ask for TLS")
            tls = self.context.wrap_socket(client, server_side=True)
            seq, response = _read_packet(tls)
            flags = struct.unpack_from("<I", response, 0)[0] & ~CLIENT_SSL
            upstream.sendall(_packet(seq - 1, struct.pack("<I", flags) + response[4:]))
            while True:  # the rest of the authentication exchange, sequence numbers shifted
                seq, answer = _read_packet(upstream)
                tls.sendall(_packet(seq + 1, answer))
                if answer[:1] in (b"\x00", b"\xff"):
                    break
                seq, more = _read_packet(tls)
                upstream.sendall(_packet(seq - 1, more))
        except (OSError, ConnectionError, ValueError, struct.error):
            for s in (tls, upstream):
                s.close()
            return
        threading.Thread(target=self._pump, args=(upstream, tls), daemon=True).start()
        self._pump(tls, upstream)

    @staticmethod
    def _pump(src: Any, dst: Any) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()


@dataclass
class AwsLabsMysqlRig:
    """moto (RDS + Secrets Manager) plus the TLS proxy and resolver for one MariaDB."""

    exe: str
    moto_url: str
    cluster_id: str
    cluster_arn: str
    endpoint: str
    ca: Path
    pythonpath: Path
    proxy: TlsUpgradeProxy

    def args(self, database: str, *, write: bool = True) -> list[str]:
        """The server's command line: what an assistant's config for an RDS/Aurora database holds."""
        out = [
            "--connection_method",
            "MYSQL_WIRE_PROTOCOL",
            "--db_cluster_arn",
            self.cluster_arn,
            "--db_endpoint",
            self.endpoint,
            "--port",
            "3306",
            "--database",
            database,
            "--region",
            REGION,
            "--ca_bundle",
            str(self.ca),
        ]
        return [*out, "--allow_write_query"] if write else out

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "PYTHONPATH": str(self.pythonpath),
            "DM_TEST_RDS_HOST": ".rds.amazonaws.com",
            "FASTMCP_LOG_LEVEL": "ERROR",
        }

    def block(self, database: str, *, write: bool = True) -> dict[str, Any]:
        """The ``mcpServers`` block for this server working in ``database``."""
        return {"command": self.exe, "args": self.args(database, write=write), "env": self.env()}


def start_rig(
    workdir: Path, moto_url: str, user: str, password: str, upstream: tuple[str, int]
) -> Iterator[AwsLabsMysqlRig]:
    """Build the rig (generator: the proxy closes after the last ``next``)."""
    import boto3

    exe = server_exe("awslabs-mysql")
    kw: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": moto_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    rds = boto3.client("rds", **kw)
    secrets = boto3.client("secretsmanager", **kw)
    # moto servers of one process share their backends: a cluster name of this rig's own
    cluster_id = f"dm-mcp-{uuid.uuid4().hex[:10]}"
    proxy = TlsUpgradeProxy(upstream)
    # the proxy's port is the cluster's Port: the server takes host and port from AWS's answer
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-mysql",
        MasterUsername=user,
        ManageMasterUserPassword=True,
        Port=proxy.port,
    )
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    secrets.put_secret_value(
        SecretId=cluster["MasterUserSecret"]["SecretArn"],
        SecretString=json.dumps({"username": user, "password": password}),
    )
    endpoint = cluster["Endpoint"]
    tls_dir = workdir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certificates(tls_dir, endpoint)
    proxy.use_certificate(cert, key)
    shim = workdir / "resolver"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    try:
        yield AwsLabsMysqlRig(exe, moto_url, cluster_id, cluster["DBClusterArn"], endpoint, ca, shim, proxy)
    finally:
        proxy.close()


@contextlib.contextmanager
def running_rig(workdir: Path, settings: Any) -> Iterator[AwsLabsMysqlRig]:
    """moto in server mode on a free port plus the rig for the MariaDB of ``settings``."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        rigs = start_rig(
            workdir,
            f"http://127.0.0.1:{port}",
            settings.user,
            settings.password.reveal(),
            (settings.host, settings.port),
        )
        yield next(rigs)
        rigs.close()
    finally:
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--config", required=True, help="a dynamigrate config file (mysql.* is used)")
    parser.add_argument("--out", help="where to write the config with the mcpServers block")
    parser.add_argument(
        "--read-only", action="store_true", help="start the server without --allow_write_query"
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="-- COMMAND ... ({config} = the new config)"
    )
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    sys.path.insert(0, str(ROOT / "src"))
    from dynamigrate.config import load_config

    src = Path(args.config).resolve()
    cfg = load_config(src)
    database = cfg.mysql.database
    if not database:
        parser.error(f"{src}: mysql.database is empty")
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}.awslabs.local.json")
    with tempfile.TemporaryDirectory(prefix="dm-awslabs-") as tmp, running_rig(Path(tmp), cfg.mysql) as rig:
        raw = json.loads(src.read_text(encoding="utf-8"))
        raw["mcpServers"] = {"awslabs.mysql-mcp-server": rig.block(database, write=not args.read_only)}
        out.write_text(json.dumps(raw, indent=2), encoding="utf-8")
        print(
            f"[awslabs-mysql] {rig.exe} ready (RDS cluster {rig.cluster_id} and its secret in moto at "
            f"{rig.moto_url}, TLS relay on port {rig.proxy.port}); config: {out}",
            file=sys.stderr,
        )
        argv_run = [a.replace("{config}", str(out)) for a in command]
        return subprocess.call(argv_run, env=dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
