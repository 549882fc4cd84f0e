"""Command line: ``python3 -m nodes.raft --id n1 --peers n1=host:port,... --client-port P --data-dir D``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from nodes.raft.core import BUGS, Config
from nodes.raft.server import READ_MODES, Node


def parse_peers(text: str) -> dict[str, tuple[str, int]]:
    """Parse ``n1=10.0.0.11:7000,n2=...`` into ``{"n1": ("10.0.0.11", 7000), ...}``."""
    peers = {}
    for item in text.split(","):
        name, _, address = item.strip().partition("=")
        host, _, port = address.rpartition(":")
        if not name or not host or not port.isdigit():
            raise argparse.ArgumentTypeError(f"bad peer {item!r}; expected id=host:port")
        peers[name] = (host, int(port))
    return peers


def parse_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad range {text!r}; expected LOW:HIGH") from None
    if not 0 < bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"bad range {text!r}; need 0 < LOW <= HIGH")
    return bounds


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m nodes.raft", description="Raft key-value node")
    p.add_argument("--id", required=True, help="this node's id; must appear in --peers")
    p.add_argument("--peers", required=True, type=parse_peers, help="id=host:port,... for every node")
    p.add_argument("--client-port", required=True, type=int)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--listen", default="0.0.0.0", help="address to bind the peer and client ports on")
    p.add_argument("--election-timeout-ms", type=parse_range, default=(300.0, 600.0), metavar="LOW:HIGH")
    p.add_argument("--heartbeat-ms", type=float, default=75.0)
    p.add_argument("--read-mode", choices=READ_MODES, default="readindex", help="how reads are made linearizable")
    p.add_argument("--snapshot-every", type=int, default=10_000, metavar="N",
                   help="snapshot the state machine and compact the log every N applied entries")
    p.add_argument("--no-pre-vote", action="store_true", help="campaign without a pre-vote round")
    p.add_argument(
        "--bug", action="append", choices=BUGS, default=[], help="seed a known bug (repeatable; see nodes/BUGS.md)"
    )
    return p


def setup_logging(node_id: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    fmt = f"%(asctime)s.%(msecs)03dZ {node_id} %(levelname)s %(message)s"
    formatter = logging.Formatter(fmt, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler])


async def amain(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    config = Config(
        election_timeout=args.election_timeout_ms,
        heartbeat=args.heartbeat_ms,
        pre_vote=not args.no_pre_vote,
        lease_reads=args.read_mode == "lease",
        bugs=frozenset(args.bug),
    )
    node = Node(args.id, args.peers, args.client_port, args.data_dir, config, args.listen, args.read_mode,
                args.snapshot_every)
    await node.run(stop)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.id not in args.peers:
        sys.exit(f"--id {args.id} is not in --peers")
    setup_logging(args.id)
    if args.bug:
        logging.getLogger("raft").warning("running with seeded bugs: %s", ", ".join(args.bug))
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
