"""Every install gets the same packages: the lock files, one headless OpenCV, a working OCR.

The lock files (requirements/*.txt, made by `./deploy_scalable.sh lock`) hold exact versions
with hashes; pyproject.toml keeps the ranges. setup, the Dockerfile and render.yaml install
from them with --require-hashes --no-deps, so what passed here is what a deploy runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

from slidecast.ocr import selfcheck

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {name: ROOT / "requirements" / f"{name}.txt" for name in ("dev", "service", "slim")}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Left out of beat's and Flower's install (slim.txt): the OCR and speech models' runtimes.
NOT_SLIM = {"onnxruntime", "rapidocr-onnxruntime", "rapidocr", "onnx", "pocketsphinx", "faster-whisper"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, dict]:
    """name -> {version, marker, hashes} for every pin of a lock file that applies here."""
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\\n]+) *(?:; *([^\\\n]+))?", block)
        if pin and (not pin.group(3) or Marker(pin.group(3).strip()).evaluate()):
            found[canonical(pin.group(1))] = {"version": pin.group(2), "hashes": re.findall(r"--hash=sha256:", block)}
    return found


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    listed = PYPROJECT["dependencies"] + [r for extra in extras for r in PYPROJECT["optional-dependencies"][extra]]
    return [Requirement(r) for r in listed]


# ---- the lock files ---------------------------------------------------------------------------
@pytest.mark.parametrize("lock, extras", [("dev", ("service", "test")), ("service", ("service",))])
def test_the_lock_holds_a_version_inside_every_range_of_pyproject(lock, extras):
    locked = pins(LOCKS[lock])
    for requirement in wanted(extras):
        name = canonical(requirement.name)
        assert name in locked, f"{lock}.txt lacks {name}: run ./deploy_scalable.sh lock"
        assert requirement.specifier.contains(locked[name]["version"], prereleases=True), (
            f"{lock}.txt pins {name}=={locked[name]['version']} outside pyproject's {requirement}: "
            "run ./deploy_scalable.sh lock")


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_hashes_and_no_lock_holds_the_gui_opencv(lock):
    locked = pins(LOCKS[lock])
    assert all(pin["hashes"] for pin in locked.values()), [n for n, p in locked.items() if not p["hashes"]]
    assert not set(selfcheck.GUI_OPENCV) & set(locked), f"{lock}.txt installs a GUI OpenCV"
    assert "opencv-python-headless" in locked


def test_the_roles_run_the_same_versions():
    dev, service, slim = (pins(LOCKS[name]) for name in ("dev", "service", "slim"))
    for smaller, larger, label in ((service, dev, "service.txt vs dev.txt"), (slim, service, "slim.txt vs service.txt")):
        differ = {n: (p["version"], larger.get(n, {}).get("version")) for n, p in smaller.items()
                  if larger.get(n, {}).get("version") != p["version"]}
        assert not differ, f"{label}: {differ}"


# Run with the slim lock's packages only: importing any other installed distribution fails, as
# it would where only requirements/slim.txt is installed (optional imports are skipped there too).
SLIM_PROBE = """
import importlib.abc, importlib.metadata as md, re, sys
allowed = set(sys.argv[1:]) | {"slidecast"}
owners = md.packages_distributions()

class SlimInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(name.split(".")[0], [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"{name} ({', '.join(sorted(dists))}) is not in requirements/slim.txt")

sys.meta_path.insert(0, SlimInstall())
import worker  # `celery -A worker beat` and `celery -A worker flower` load this module
worker.celery.loader.import_default_modules()  # and beat these before it starts
import flower.command  # what `celery flower` adds
import infra.flower_conf  # and the configuration file the script passes it
"""


def test_beat_and_flower_start_with_the_slim_install_alone():
    slim = pins(LOCKS["slim"])
    assert not NOT_SLIM & set(slim), "beat and Flower must not install the OCR and speech runtimes"
    done = subprocess.run([sys.executable, "-c", SLIM_PROBE, *slim], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


# ---- every install path uses them ------------------------------------------------------------
def test_every_install_path_installs_a_lock_file_with_hashes():
    script = (ROOT / "deploy_scalable.sh").read_text()
    assert re.search(r"^LOCK=requirements/dev\.txt$", script, re.M)
    assert re.search(r'install=\("\$VENV/bin/uv" pip install .*--no-deps\)\n\s+"\$\{install\[@\]\}" --require-hashes -r "\$LOCK"',
                     script)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements/service.txt" in dockerfile
    assert re.search(r'python -c "import cv2, onnxruntime, av, slidecast"\s*\\\s*&& python -m slidecast.ocr.selfcheck',
                     dockerfile)
    render = yaml.safe_load((ROOT / "render.yaml").read_text())
    for service in render["services"]:
        if "buildCommand" in service:
            lock = "slim" if service["startCommand"].split()[-1] in ("beat", "flower") else "service"
            assert service["buildCommand"].startswith(
                f"pip install --require-hashes --no-deps -r requirements/{lock}.txt && pip install --no-deps ."
            ), service["name"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./deploy_scalable.sh test" in ci  # test runs setup, which installs dev.txt


# ---- what is installed here ----------------------------------------------------------------
def test_opencv_is_the_headless_build_and_links_no_gui_library():
    assert selfcheck.gui_opencv_problems() == []
    import cv2

    if shutil.which("ldd") is None:
        pytest.skip("ldd is not installed: the linked libraries cannot be listed")
    linked = subprocess.run(["ldd", cv2.__file__ if cv2.__file__.endswith(".so") else _cv2_binary(cv2)],
                            capture_output=True, text=True).stdout
    assert not re.search(r"lib(GL|X11|xcb|gtk|Qt)", linked), linked


def _cv2_binary(cv2) -> str:
    (binary,) = Path(cv2.__file__).parent.glob("cv2*.so")
    return str(binary)


def test_the_image_self_check_reads_the_packaged_picture():
    """What the Dockerfile runs at build time."""
    done = subprocess.run([sys.executable, "-m", "slidecast.ocr.selfcheck"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Every worker reads this line" in done.stdout
