# The architecture, checked from the code's own #include lines (tools/check-layout.py): no
# folder includes one above it, each external library behind its own files, layers without
# file I/O or MPI, no source file over 700 lines.
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/../../tools/check-layout.py" "$here/../.."
