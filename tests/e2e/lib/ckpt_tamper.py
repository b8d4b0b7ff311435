"""ckpt_tamper.py OP FILE [ARGS] - makes hostile or damaged checkpoints for tests/e2e/ckpt_*.sh.

  set FILE DATASET VALUE     writes VALUE into a scalar dataset and recomputes its crc32 (a
                             well-formed file that lies: only seqtrain's range checks catch it)
  huge FILE DATASET N        replaces DATASET by a chunked float64 vector declaring N elements,
                             nothing written (HDF5 allows it; reading it would allocate 8N bytes)
  unsum FILE                 removes the root checksum attribute (the file then reads as one of
                             the older layout: structure checked, bytes unverified)
  flip FILE DATASET BYTE     XORs one byte of DATASET's raw data in place (a bit rot)
  oldstyle SRC DST           rewrites SRC as the older layout: HDF5's earliest format, variable-
                             length string attributes (the global heap), no checksums
  flipheap FILE              XORs one byte of FILE's global heap's size (the heap of the
                             string attributes): HDF5 hangs reading any string attribute
  crc FILE                   checks every dataset's crc32 with zlib.crc32; exit 1 on a mismatch
"""
import sys
import zlib

import h5py
import numpy as np


def crc_of(d):
    data = np.ascontiguousarray(d[()])
    return np.uint32(zlib.crc32(data.astype(data.dtype.newbyteorder("<")).tobytes()))


def main():
    op, path = sys.argv[1], sys.argv[2]
    if op == "set":
        name, value = sys.argv[3], sys.argv[4]
        with h5py.File(path, "r+") as f:
            d = f[name]
            d[()] = np.array(int(value) if d.dtype.kind in "iu" else float(value), dtype=d.dtype)
            d.attrs["crc32"] = crc_of(d)
    elif op == "huge":
        name, n = sys.argv[3], int(sys.argv[4])
        with h5py.File(path, "r+") as f:
            del f[name]
            d = f.create_dataset(name, shape=(n,), dtype="<f8", chunks=(1024,))
            d.attrs["crc32"] = np.uint32(0)
    elif op == "unsum":
        with h5py.File(path, "r+") as f:
            del f.attrs["checksum"]
    elif op == "flip":
        name, at = sys.argv[3], int(sys.argv[4])
        with h5py.File(path, "r") as f:
            off = f[name].id.get_offset()
        with open(path, "r+b") as fh:
            fh.seek(off + at)
            b = fh.read(1)[0]
            fh.seek(off + at)
            fh.write(bytes([b ^ 0x10]))
    elif op == "oldstyle":
        dst = sys.argv[3]
        with h5py.File(path, "r") as src, h5py.File(dst, "w", libver="earliest") as out:
            for k, v in src.attrs.items():
                if k == "checksum":
                    continue
                out.attrs[k] = v.decode() if isinstance(v, bytes) else v
            def copy(name, obj):
                if isinstance(obj, h5py.Dataset):
                    out.create_dataset(name, data=obj[()])
            src.visititems(copy)
    elif op == "flipheap":
        with open(path, "r+b") as fh:
            data = bytearray(fh.read())
            at = data.find(b"GCOL")
            if at < 0:
                print("no global heap in", path)
                return 1
            # the collection's size (bytes 8..15 of its header): HDF5 1.10 then loops forever
            # reading the heap (seqtrain before name-ordered resolve hung on such an older file)
            data[at + 9] ^= 0x5A
            fh.seek(0)
            fh.write(data)
    elif op == "crc":
        bad = []
        with h5py.File(path, "r") as f:
            def check(name, obj):
                if isinstance(obj, h5py.Dataset) and int(obj.attrs["crc32"]) != crc_of(obj):
                    bad.append(name)
            f.visititems(check)
        if bad:
            print("crc32 mismatch:", bad)
            return 1
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
