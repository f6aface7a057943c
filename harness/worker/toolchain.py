"""The Node toolchain that runs Cloudflare Workers (esbuild, Miniflare with its workerd), and a Worker's own
npm dependencies: each installed with `npm ci` into a cache folder keyed by its lock file, never into the
user's project, never globally. Install scripts are never run (`--ignore-scripts`): workerd and esbuild
ship their binaries in platform packages, and a user's dependencies get no chance to run code here."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLCHAIN_FILES = ("package.json", "package-lock.json")
DRIVER = "driver.mjs"
STAMP = ".tiersync-installed"  # written last: an install that stopped half-way has none


class ToolchainError(Exception):
    """Node or npm is missing, or an install failed: the message quotes npm."""


def cache_root() -> Path:
    """`$TIERSYNC_CACHE` or `$XDG_CACHE_HOME/tiersync` or `~/.cache/tiersync`."""
    if os.environ.get("TIERSYNC_CACHE"):
        return Path(os.environ["TIERSYNC_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tiersync"


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _which(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise ToolchainError(f"`{name}` is not on PATH: running a Worker needs Node.js 20 or newer with npm "
                             "(Debian: apt-get install nodejs npm)")
    return path


def _npm_ci(source_files: list[Path], dest: Path, *, omit_dev: bool, what: str, timeout: float = 600) -> Path:
    """Copy package.json (+ lock) into a fresh folder beside `dest`, install there, then move it into place:
    a half-finished install never looks finished. One install at a time per folder (a file lock), so
    parallel test workers share one."""
    if (dest / STAMP).exists():
        return dest
    npm = _which("npm")
    _which("node")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / STAMP).exists():
            return dest
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            for f in source_files:
                shutil.copyfile(f, work / f.name)
            has_lock = (work / "package-lock.json").exists()
            cmd = [npm, "ci" if has_lock else "install", "--ignore-scripts", "--no-audit", "--no-fund",
                   "--loglevel=error"] + (["--omit=dev"] if omit_dev else [])
            try:
                done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise ToolchainError(f"installing {what} with npm took over {timeout:g}s") from None
            if done.returncode != 0:
                raise ToolchainError(f"installing {what} failed (`{' '.join(cmd[1:])}` in {work}):\n"
                                     f"{(done.stderr or done.stdout).strip()[-3000:]}")
            (work / STAMP).write_text(" ".join(cmd[1:]) + "\n")
            shutil.rmtree(dest, ignore_errors=True)
            work.rename(dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest


def toolchain_dir() -> Path:
    """The folder holding node_modules/{miniflare,esbuild} and the driver script; installed on first use."""
    files = [HERE / f for f in TOOLCHAIN_FILES]
    dest = cache_root() / "node" / f"toolchain-{_digest(*files)}"
    _npm_ci(files, dest, omit_dev=False, what="the Worker toolchain (miniflare, esbuild)")
    driver = dest / DRIVER  # ESM resolves `import "miniflare"` from the script's own folder
    source = (HERE / DRIVER).read_bytes()
    if not driver.exists() or driver.read_bytes() != source:
        tmp = driver.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(source)
        tmp.replace(driver)
    return dest


def esbuild_path(toolchain: Path) -> Path:
    return toolchain / "node_modules" / "esbuild" / "bin" / "esbuild"


def app_node_modules(package_root: Path) -> Path | None:
    """Where the Worker's own dependencies are: its node_modules if the user installed them, else a cache
    folder installed from its package-lock.json (package.json alone if it has no lock), devDependencies
    left out (types and wrangler are not bundled). None when the project declares no dependencies."""
    if (package_root / "node_modules").is_dir():
        return package_root / "node_modules"
    manifest = package_root / "package.json"
    if not manifest.exists():
        return None
    lock = package_root / "package-lock.json"
    files = [manifest] + ([lock] if lock.exists() else [])
    dest = cache_root() / "node" / f"app-{_digest(*files)}"
    _npm_ci(files, dest, omit_dev=True, what=f"the Worker's dependencies ({manifest})")
    modules = dest / "node_modules"
    return modules if modules.is_dir() else None


def main() -> int:
    """`python -m tiersync.worker.toolchain`: install the toolchain now (make setup) and say where."""
    try:
        print(toolchain_dir())
    except ToolchainError as exc:
        print(f"tiersync: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
