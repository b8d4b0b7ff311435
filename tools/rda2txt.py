#!/usr/bin/python3
"""rda2txt.py - the character vectors inside R data files, as plain text (standard library only).

    tools/rda2txt.py [--list] [--only NAME,...] PATH...   > out.txt

PATH is any of the files R packages ship data in:
  - a lazy-load database: DIR/Rdata.rdx (+ Rdata.rdb next to it), or the directory holding it
    (what installed packages have under data/: r-cran-janeaustenr, for one);
  - an .rda / .RData file (save(): "RDX2"/"RDX3" then a serialized pairlist of variables);
  - an .rds file (saveRDS(): one serialized object).
Files may be gzip, bzip2 or xz compressed (detected from the magic bytes); a lazy-load .rdb
entry is a 4-byte big-endian length followed by zlib data, or by a type byte ('Z' zlib,
'2' bzip2, 'X' xz, '0' none) and the data.

Every top-level variable that is a character vector (or a list / data frame holding some) is
printed: its elements one per line (NA as an empty line), variables in name order, separated by
one empty line. --list prints the variables, their type and length to stderr and nothing else.

The R serialization format read here (R Internals, "Serialization formats"): binary XDR
('X\\n'), version 2 or 3, big-endian ints and doubles; every item starts with an int of flags:
type (low 8 bits), object bit (8), attribute bit (9), tag bit (10), levels (bits 12+). Objects
that are not data (closures, environments, bytecode, external pointers) are read to keep the
stream in step but not printed. ASCII ('A') and native binary ('B') streams are refused with a
message; R writes XDR unless asked otherwise.
"""
import bz2
import gzip
import lzma
import os
import struct
import sys
import zlib

PROG = "rda2txt.py"


class RError(Exception):
    """A malformed or unsupported file: one line for the user."""


def decompress(data, what):
    """Whole-file compression, as save()/saveRDS() write it (or none)."""
    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data)
        if data[:3] == b"BZh":
            return bz2.decompress(data)
        if data[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(data)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise RError("%s: corrupt compressed data: %s" % (what, e))
    return data


# SEXP types and the special codes of the serialization format (R's serialize.c).
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
SPECIALSXP, BUILTINSXP, CHARSXP, LGLSXP, INTSXP, REALSXP = 7, 8, 9, 10, 13, 14
CPLXSXP, STRSXP, DOTSXP, VECSXP, EXPRSXP, BCODESXP = 15, 16, 17, 19, 20, 21
EXTPTRSXP, WEAKREFSXP, RAWSXP, S4SXP = 22, 23, 24, 25
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP = 255, 254, 253, 252, 251
BASENAMESPACE_SXP, NAMESPACESXP, PACKAGESXP, PERSISTSXP = 250, 249, 248, 247
EMPTYENV_SXP, BASEENV_SXP, ATTRLANGSXP, ATTRLISTSXP, ALTREP_SXP = 242, 241, 240, 239, 238
PAIRLISTS = (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLANGSXP, ATTRLISTSXP)
NAMES = {STRSXP: "character", INTSXP: "integer", REALSXP: "double", LGLSXP: "logical",
         VECSXP: "list", CPLXSXP: "complex", RAWSXP: "raw"}


class Sym(str):
    """An R symbol (distinct from a string element)."""


class Vec(list):
    """An R vector: the elements, its SEXP type and its attributes (a dict)."""

    def __init__(self, items, rtype, attrs=None):
        super().__init__(items)
        self.rtype = rtype
        self.attrs = attrs or {}


class Pairlist(list):
    """A pairlist as (tag, value) pairs."""


class Other:
    """Anything that is not data (environment, closure, bytecode, ...)."""

    def __init__(self, what):
        self.what = what


class Reader:
    """One XDR serialization stream, version 2 or 3."""

    def __init__(self, data, what):
        self.d = data
        self.p = 0
        self.what = what
        self.refs = []

    def need(self, n):
        if self.p + n > len(self.d):
            raise RError("%s: truncated serialization (wanted %d bytes at offset %d of %d)"
                         % (self.what, n, self.p, len(self.d)))

    def int(self):
        self.need(4)
        v = struct.unpack_from(">i", self.d, self.p)[0]
        self.p += 4
        return v

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two ints
            hi, lo = self.int(), self.int()
            n = (hi << 32) + (lo & 0xFFFFFFFF)
        if n < 0:
            raise RError("%s: negative length %d at offset %d" % (self.what, n, self.p))
        return n

    def raw(self, n):
        self.need(n)
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def header(self):
        fmt = self.raw(2)
        if fmt in (b"A\n", b"B\n"):
            raise RError("%s: %s serialization is not supported (only XDR, R's default)"
                         % (self.what, "ASCII" if fmt == b"A\n" else "native binary"))
        if fmt != b"X\n":
            raise RError("%s: not an R serialization stream (starts with %r)" % (self.what, fmt))
        version = self.int()
        self.int()  # the writer's R version
        self.int()  # the minimal reader version
        if version == 3:
            self.raw(self.int())  # native encoding name
        elif version != 2:
            raise RError("%s: serialization version %d (known: 2, 3)" % (self.what, version))

    def string_vec(self):
        """InStringVec: persistent names, package and namespace specs."""
        if self.int() != 0:
            raise RError("%s: bad string vector at offset %d" % (self.what, self.p))
        return [self.item() for _ in range(self.length())]

    def attributes(self, pl):
        out = {}
        if isinstance(pl, Pairlist):
            for tag, val in pl:
                out[str(tag)] = val
        return out

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t == NILVALUE_SXP:
            return None
        if t in (EMPTYENV_SXP, BASEENV_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP,
                 BASENAMESPACE_SXP):
            return Other("special %d" % t)
        if t == REFSXP:
            i = flags >> 8
            if i == 0:
                i = self.int()
            if not 1 <= i <= len(self.refs):
                raise RError("%s: reference %d to an unknown object" % (self.what, i))
            return self.refs[i - 1]
        if t == PERSISTSXP:
            o = Other("persistent %s" % self.string_vec())
            self.refs.append(o)
            return o
        if t == SYMSXP:
            s = Sym(self.item() or "")
            self.refs.append(s)
            return s
        if t in (PACKAGESXP, NAMESPACESXP):
            o = Other("namespace %s" % self.string_vec())
            self.refs.append(o)
            return o
        if t == ENVSXP:
            self.int()  # locked
            o = Other("environment")
            self.refs.append(o)  # before its contents, which may refer to it
            o.enclos, o.frame, o.hashtab, o.attrib = (self.item() for _ in range(4))
            return o
        if t in PAIRLISTS:
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            if t != LISTSXP and t != ATTRLISTSXP:
                return Other("language/closure %d" % t)
            pl = Pairlist([(tag, car)])
            if isinstance(cdr, Pairlist):
                pl.extend(cdr)
            pl.attrs = self.attributes(attr)
            return pl
        if t == ALTREP_SXP:
            info, state, attr = self.item(), self.item(), self.item()
            return self.altrep(info, state, attr)
        if t in (SPECIALSXP, BUILTINSXP):
            self.raw(self.int())
            return Other("builtin")
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            # levels: UTF8 (8), LATIN1 (4), BYTES (2), ASCII (64)
            enc = "latin-1" if (flags >> 12) & 4 else "utf-8"
            return self.raw(n).decode(enc, errors="replace")
        if t == EXTPTRSXP:
            o = Other("external pointer")
            self.refs.append(o)
            self.item()
            self.item()
        elif t == WEAKREFSXP:
            o = Other("weak reference")
            self.refs.append(o)
        elif t in (LGLSXP, INTSXP):
            n = self.length()
            self.need(4 * n)
            o = Vec(struct.unpack_from(">%di" % n, self.d, self.p), t)
            self.p += 4 * n
        elif t == REALSXP:
            n = self.length()
            self.need(8 * n)
            o = Vec(struct.unpack_from(">%dd" % n, self.d, self.p), t)
            self.p += 8 * n
        elif t == CPLXSXP:
            n = self.length()
            self.raw(16 * n)
            o = Vec([], t)
        elif t == RAWSXP:
            o = Vec(list(self.raw(self.length())), t)
        elif t in (STRSXP, VECSXP, EXPRSXP):
            n = self.length()
            o = Vec([self.item() for _ in range(n)], t)
        elif t == S4SXP:
            o = Other("S4 object")
        elif t == BCODESXP:
            raise RError("%s: byte code at offset %d: compiled functions are not data; not "
                         "supported" % (self.what, self.p))
        else:
            raise RError("%s: unknown item type %d at offset %d (not an R data file, or a newer "
                         "format)" % (self.what, t, self.p - 4))
        if has_attr:
            attrs = self.attributes(self.item())
            if isinstance(o, Vec):
                o.attrs = attrs
        return o

    def altrep(self, info, state, attr):
        """ALTREP objects R writes for some vectors: the wrappers and compact sequences are
        turned back into plain vectors; others are kept opaque."""
        cls = str(info[0][1]) if isinstance(info, Pairlist) and info else "?"
        if cls.startswith("wrap_") and isinstance(state, Vec) and state:
            v = state[0]
        elif cls == "compact_intseq" and isinstance(state, Vec) and len(state) == 3:
            n, start, inc = (int(x) for x in state)
            v = Vec([start + i * inc for i in range(n)], INTSXP)
        elif cls == "compact_realseq" and isinstance(state, Vec) and len(state) == 3:
            n, start, inc = state
            v = Vec([start + i * inc for i in range(int(n))], REALSXP)
        elif cls == "deferred_string" and isinstance(state, Pairlist) and state:
            src = state[0][1]
            v = Vec([None if x is None else (str(int(x)) if float(x).is_integer() else repr(x))
                     for x in (src or [])], STRSXP)
        else:
            return Other("ALTREP %s" % cls)
        if isinstance(v, Vec):
            v.attrs = dict(v.attrs, **self.attributes(attr))
        return v


def unserialize(data, what):
    r = Reader(data, what)
    r.header()
    return r.item()


def load_lazy(rdx_path):
    """A lazy-load database: the .rdx index names each variable's [offset, length] in .rdb."""
    rdb_path = rdx_path[:-4] + ".rdb"
    with open(rdx_path, "rb") as f:
        raw = f.read()
    idx = unserialize(decompress(raw, rdx_path), rdx_path)
    if not isinstance(idx, Vec) or "names" not in idx.attrs:
        raise RError("%s: not a lazy-load index (expected a named list)" % rdx_path)
    top = dict(zip(idx.attrs["names"], idx))
    variables = top.get("variables")
    if not isinstance(variables, Vec) or "names" not in variables.attrs:
        raise RError("%s: lazy-load index without 'variables'" % rdx_path)
    try:
        with open(rdb_path, "rb") as f:
            rdb = f.read()
    except OSError as e:
        raise RError("%s: %s (the .rdb that goes with %s)" % (rdb_path, e.strerror, rdx_path))
    out = {}
    for name, pos in zip(variables.attrs["names"], variables):
        off, n = int(pos[0]), int(pos[1])
        what = "%s: variable %s" % (rdb_path, name)
        if off < 0 or n < 5 or off + n > len(rdb):
            raise RError("%s: entry [%d, +%d) outside the %d-byte file" % (what, off, n, len(rdb)))
        out[name] = unserialize(lazy_entry(rdb[off:off + n], what), what)
    return out


def lazy_entry(blob, what):
    """One .rdb entry: 4-byte uncompressed length, then zlib data (compress = 1) or a type
    byte and the data (compress = 2, 3)."""
    size = struct.unpack_from(">I", blob)[0]
    body = blob[4:]
    try:
        if body[:1] == b"\x78":
            data = zlib.decompress(body)
        elif body[:1] == b"Z":
            data = zlib.decompress(body[1:])
        elif body[:1] == b"2":
            data = bz2.decompress(body[1:])
        elif body[:1] == b"X":
            data = lzma.decompress(body[1:])
        elif body[:1] == b"0":
            data = body[1:]
        else:
            raise RError("%s: unknown compression byte 0x%02x" % (what, body[0]))
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise RError("%s: corrupt compressed entry: %s" % (what, e))
    if len(data) != size:
        raise RError("%s: entry decompresses to %d bytes, its header says %d"
                     % (what, len(data), size))
    return data


def load_file(path):
    """Variables of an .rda/.RData (save) or the one object of an .rds (saveRDS)."""
    with open(path, "rb") as f:
        data = decompress(f.read(), path)
    if data[:5] in (b"RDX2\n", b"RDX3\n"):
        obj = unserialize(data[5:], path)
        if not isinstance(obj, Pairlist):
            raise RError("%s: expected a pairlist of variables after %r" % (path, data[:4]))
        return {str(tag): val for tag, val in obj}
    if data[:5] in (b"RDA2\n", b"RDA3\n", b"RDB2\n", b"RDB3\n"):
        raise RError("%s: ASCII or native-binary save() format; only XDR is supported" % path)
    name = os.path.splitext(os.path.basename(path))[0]
    return {name: unserialize(data, path)}


def load(path):
    if os.path.isdir(path):
        rdx = [f for f in sorted(os.listdir(path)) if f.endswith(".rdx")]
        if not rdx:
            raise RError("%s: a directory without a lazy-load index (*.rdx)" % path)
        out = {}
        for f in rdx:
            out.update(load_lazy(os.path.join(path, f)))
        return out
    if not os.path.exists(path):
        raise RError("%s: no such file" % path)
    if path.endswith(".rdx"):
        return load_lazy(path)
    if path.endswith(".rdb"):
        return load_lazy(path[:-4] + ".rdx")
    return load_file(path)


def strings(obj):
    """The character vectors in obj: itself, or the columns / elements of a list."""
    if isinstance(obj, Vec) and obj.rtype == STRSXP:
        return [obj]
    if isinstance(obj, Vec) and obj.rtype == VECSXP:
        return [v for x in obj for v in strings(x)]
    return []


def describe(obj):
    if isinstance(obj, Vec):
        cls = obj.attrs.get("class")
        return "%s[%d]%s" % (NAMES.get(obj.rtype, "vector"), len(obj),
                             " class " + ",".join(cls) if isinstance(cls, Vec) else "")
    if isinstance(obj, Other):
        return obj.what
    return type(obj).__name__


def main(argv):
    args, only, listing = [], None, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        if a == "--list":
            listing = True
        elif a == "--only":
            if i + 1 >= len(argv):
                print("%s: error: --only needs NAME,..." % PROG, file=sys.stderr)
                return 2
            only = argv[i + 1].split(",")
            i += 1
        elif a.startswith("-"):
            print("%s: error: unknown option '%s' (see --help)" % (PROG, a), file=sys.stderr)
            return 2
        else:
            args.append(a)
        i += 1
    if not args:
        print("usage: %s [--list] [--only NAME,...] PATH..." % PROG, file=sys.stderr)
        return 2
    try:
        variables = {}
        for p in args:
            variables.update(load(p))
    except RError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("%s: error: %s: %s" % (PROG, e.filename, e.strerror), file=sys.stderr)
        return 1
    if only:
        missing = [n for n in only if n not in variables]
        if missing:
            print("%s: error: no variable %s (the files have: %s)"
                  % (PROG, ", ".join(missing), ", ".join(sorted(variables))), file=sys.stderr)
            return 1
    names = only or sorted(variables)
    if listing:
        for n in names:
            print("%s\t%s" % (n, describe(variables[n])), file=sys.stderr)
        return 0
    out = sys.stdout
    first = True
    for n in names:
        for vec in strings(variables[n]):
            if not first:
                out.write("\n")
            first = False
            for s in vec:
                out.write((s or "") + "\n")
    if first:
        print("%s: error: no character vectors in %s" % (PROG, ", ".join(args)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
