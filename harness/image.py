"""Building the node image without a container registry.

Two layers, each cached under a tag that is a hash of what went into it, so a second run finds
both and starts in seconds:

- the *base*: Debian with the tools every fault needs (python3 for our node, iptables and
  iproute2 for network faults, procps, libfaketime for clock faults). Where a Debian image is
  already present locally (``debian:bookworm-slim``) or named with ``--base``, it is extended
  with apt; otherwise it is made offline with ``debootstrap`` from the apt mirror this machine
  already uses, and ``docker import``-ed. No registry is contacted unless the user names one.
- the *node* image: the base plus our Raft node's source, built with the classic builder.
- the *etcd* image: the base plus Debian's etcd-server package, fetched by the host's own apt
  (``apt-get download``) and installed with ``dpkg -i`` in a classic build, so etcd runs in the
  same kind of container as our node and can be compared with it (and tested as a DB).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from harness.errors import HarnessError, UsageError

log = logging.getLogger(__name__)

SUITE = "bookworm"
PACKAGES = (
    "python3",
    "iproute2",
    "iptables",
    "procps",
    "libfaketime",
    "faketime",
    "ca-certificates",
    "libnetfilter-queue1",  # the packet nemesis's NFQUEUE delayer, where the kernel has no netem
    "openssh-server",  # so the SSH remote can be tested against real sshd in a container
)
LOCAL_DEBIAN_IMAGES = (f"debian:{SUITE}-slim", f"debian:{SUITE}")
IMAGE_LABEL = "harness.image"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_SOURCE = PROJECT_ROOT / "nodes"
NODE_HOME = "/opt/harness"
# Keeps Python's time.sleep working under libfaketime (the clock nemesis); see the file itself.
SITECUSTOMIZE = PROJECT_ROOT / "harness" / "nemesis" / "node" / "sitecustomize.py"
NODE_FILES = {"nodes": NODE_SOURCE, "sitecustomize.py": SITECUSTOMIZE}

NODE_DOCKERFILE = f"""\
FROM {{base}}
COPY nodes {NODE_HOME}/nodes
COPY sitecustomize.py {NODE_HOME}/sitecustomize.py
ENV PYTHONPATH={NODE_HOME} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN mkdir -p /var/lib/raft /var/log/raft
LABEL {IMAGE_LABEL}=node
"""

ETCD_PACKAGE = "etcd-server"
ETCD_DEB = "etcd-server.deb"
# policy-rc.d stops the package's maintainer scripts from starting an etcd during the build; the
# harness starts etcd itself, as a detached process with its own flags, like our node.
ETCD_DOCKERFILE = f"""\
FROM {{base}}
COPY {ETCD_DEB} /tmp/{ETCD_DEB}
RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \\
    && dpkg -i /tmp/{ETCD_DEB} && rm -f /tmp/{ETCD_DEB} /usr/sbin/policy-rc.d && etcd --version
LABEL {IMAGE_LABEL}=etcd
"""

APT_DOCKERFILE = f"""\
FROM {{base}}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    {{packages}} && rm -rf /var/lib/apt/lists/*
LABEL {IMAGE_LABEL}=base
"""


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:12]


def apt_mirror() -> str:
    """The Debian mirror apt uses on this machine, so debootstrap reaches what apt reaches."""
    candidates: list[Path] = [Path("/etc/apt/sources.list")]
    sources_d = Path("/etc/apt/sources.list.d")
    if sources_d.is_dir():
        candidates += sorted(sources_d.glob("*.sources")) + sorted(sources_d.glob("*.list"))
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s*)?)(\S+)", text, re.M):
            uri = m.group(1)
            if "security" not in uri and uri.startswith(("http://", "https://", "file:")):
                return uri
    return "http://deb.debian.org/debian"


def image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _build(client: docker.DockerClient, dockerfile: str, tag: str, files: dict[str, Path]) -> None:
    """Classic `docker build` from an in-memory context holding the Dockerfile and `files`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for arcname, path in files.items():
            tar.add(path, arcname=arcname, filter=_skip_caches)
    buf.seek(0)
    try:
        client.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True)
    except docker.errors.BuildError as e:
        tail = " | ".join(str(c.get("stream", c.get("error", ""))).strip() for c in list(e.build_log)[-5:])
        raise HarnessError(f"building image {tag} failed: {e.msg} ({tail})") from e


def _skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info


def _debootstrap(client: docker.DockerClient, tag: str, mirror: str) -> None:
    if shutil.which("debootstrap") is None:
        raise HarnessError(
            "no base image and no debootstrap to make one: run ./setup.sh (or apt-get install debootstrap), "
            "or pass --base with a local Debian image"
        )
    if os.geteuid() != 0:
        raise HarnessError("debootstrap needs root to build the base image; run `harness image build` as root")
    with tempfile.TemporaryDirectory(prefix="harness-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            mirror,
        ]
        log.info("debootstrap %s from %s (about a minute)", SUITE, mirror)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise HarnessError(f"debootstrap failed (exit {proc.returncode}): {' | '.join(last)}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (rootfs / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        tar_path = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar_path), "."], check=True)
        repo, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(tar_path), repository=repo, tag=version, changes=[f"LABEL {IMAGE_LABEL}=base", 'CMD ["bash"]']
        )
    if not image_exists(client, tag):
        raise HarnessError(f"docker import did not produce {tag}")


DEBOOTSTRAP_BASE = f"harness-base:{SUITE}-{_digest('debootstrap', SUITE, *PACKAGES)}"


def base_image(client: docker.DockerClient, base: str | None = None) -> str:
    """Return the tag of the base image, making it if needed (see the module docstring)."""
    if base is None:
        base = next((name for name in LOCAL_DEBIAN_IMAGES if image_exists(client, name)), None)
    if base is None:
        mirror = apt_mirror()
        tag = DEBOOTSTRAP_BASE
        if not image_exists(client, tag):
            _debootstrap(client, tag, mirror)
        return tag
    if not image_exists(client, base):
        log.info("pulling %s", base)
        try:
            client.images.pull(base)
        except docker.errors.APIError as e:
            raise HarnessError(f"base image {base} is not present and cannot be pulled: {e.explanation}") from e
    base_id = client.images.get(base).id
    tag = f"harness-base:{SUITE}-{_digest('apt', base_id, *PACKAGES)}"
    if not image_exists(client, tag):
        _build(client, APT_DOCKERFILE.format(base=base, packages=" ".join(PACKAGES)), tag, {})
    return tag


def _files_digest(files: dict[str, Path]) -> str:
    """A hash of what a build context holds (folders walked in order, caches skipped)."""
    h = hashlib.sha256()
    for arcname, root in sorted(files.items()):
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = arcname if path == root else f"{arcname}/{path.relative_to(root)}"
                h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


class Images:
    """Finds or builds the images of one run: the base, and images built on top of it.

    Each built image is tagged with a hash of its base, its Dockerfile and its files, so a second
    run finds it in a fraction of a second and a change to any input builds a new one.
    """

    def __init__(self, client: docker.DockerClient, base: str | None = None) -> None:
        self.client = client
        self.base_override = base
        self._base: str | None = None

    def base(self) -> str:
        """The base image (Debian with the tools every fault needs), made once per run."""
        if self._base is None:
            self._base = base_image(self.client, self.base_override)
        return self._base

    def build(self, name: str, dockerfile: str, files: dict[str, Path] | None = None) -> str:
        """An image named `name:<hash>` from `dockerfile`, where `{base}` stands for the base image."""
        files = files or {}
        base_tag = self.base()
        base_id = self.client.images.get(base_tag).id
        tag = f"{name}:{_digest(base_id, dockerfile, _files_digest(files))}"
        if not image_exists(self.client, tag):
            started = time.monotonic()
            _build(self.client, dockerfile.replace("{base}", base_tag), tag, files)
            log.info("built %s in %.1f s", tag, time.monotonic() - started)
        return tag


    def from_dockerfile(self, path: Path) -> tuple[str, str | None]:
        """An image built from a user's Dockerfile, with its folder as the build context.

        Without a registry a `FROM debian:...` cannot be pulled; when the FROM image is neither on
        this engine nor pullable, it is replaced by our base image (Debian with the fault tools)
        and the returned note says so. Returns the tag and that note (None: built as written).
        """
        text = path.read_text(encoding="utf-8")
        m = _FROM.search(text)
        if m is None:
            raise UsageError(f"--dockerfile {path}: no FROM line")
        wanted, note = m.group("image"), None
        if not image_exists(self.client, wanted):
            try:
                self.client.images.pull(wanted)
            except docker.errors.DockerException as e:
                text = text[: m.start("image")] + "{base}" + text[m.end("image"):]
                note = f"FROM {wanted} replaced by the harness base image: not on this engine, and pulling failed ({e})"
        files = {p.name: p for p in sorted(path.parent.iterdir()) if p != path and p.name not in (".git", "Dockerfile")}
        return self.build("harness-user", text, files), note


_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?P<image>\S+)", re.M | re.I)


def node_image(client: docker.DockerClient, base: str | None = None) -> str:
    """Return the tag of our Raft node's image (base + nodes/), building whatever is missing."""
    return Images(client, base).build("harness-node", NODE_DOCKERFILE, NODE_FILES)


def _apt_package_sha256(package: str) -> str:
    """The SHA256 of the .deb apt would download now: names the etcd image before anything is fetched.

    A fresh machine may have no package lists yet; as root, they are fetched once.
    """
    for attempt in range(2):
        proc = subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True)
        m = re.search(r"^SHA256:\s*([0-9a-f]{64})\s*$", proc.stdout, re.M)
        if (proc.returncode == 0 and m is not None) or attempt or os.geteuid() != 0:
            break
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
    if proc.returncode != 0 or m is None:
        raise HarnessError(
            f"apt knows no {package} package on this host (apt-cache show: {proc.stderr.strip() or 'no SHA256'}); "
            "the etcd image is built from Debian's package: run apt-get update on a Debian bookworm host"
        )
    return m.group(1)


def etcd_image(client: docker.DockerClient, base: str | None = None) -> str:
    """Return the tag of the etcd image (base + Debian's etcd-server), building it if missing.

    The tag hashes the base image, the Dockerfile and the package's SHA256 from apt's index, so a
    cached image is found without downloading anything and a new package version gives a new tag.
    """
    if shutil.which("apt-get") is None:
        raise HarnessError("the etcd image is built from Debian's etcd-server package, and this host has no apt-get")
    started = time.monotonic()
    base_tag = base_image(client, base)
    base_id = client.images.get(base_tag).id
    tag = f"harness-etcd:{_digest(base_id, ETCD_DOCKERFILE, _apt_package_sha256(ETCD_PACKAGE))}"
    if image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="harness-etcd-") as tmp:
        proc = subprocess.run(["apt-get", "download", ETCD_PACKAGE], cwd=tmp, capture_output=True, text=True)
        debs = sorted(Path(tmp).glob("*.deb"))
        if proc.returncode != 0 or len(debs) != 1:
            last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise HarnessError(f"apt-get download {ETCD_PACKAGE} failed (exit {proc.returncode}): {' | '.join(last)}")
        _build(client, ETCD_DOCKERFILE.format(base=base_tag), tag, {ETCD_DEB: debs[0]})
    log.info("built %s in %.1f s", tag, time.monotonic() - started)
    return tag


def cache_key() -> str:
    """A key for caching the images between CI runs, known before anything is built: it changes
    when the debootstrap base's inputs (suite, packages) or our node's sources change."""
    return _digest(DEBOOTSTRAP_BASE, NODE_DOCKERFILE, _files_digest(NODE_FILES))


def save_images(client: docker.DockerClient, tags: list[str], folder: Path) -> list[Path]:
    """Write each image to `folder` as a tar (what `docker save` writes), streamed to disk."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for tag in tags:
        path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", tag) + ".tar")
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as f:
            for chunk in client.images.get(tag).save(named=True):
                f.write(chunk)
        tmp.replace(path)
        written.append(path)
    return written


def load_images(client: docker.DockerClient, folder: Path) -> list[str]:
    """Load every tar in `folder` into the engine; returns the tags loaded."""
    tags: list[str] = []
    for path in sorted(folder.glob("*.tar")):
        with open(path, "rb") as f:
            for image in client.images.load(f):
                tags += image.tags
    return tags
