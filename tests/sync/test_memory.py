import subprocess
import sys

# Frees a 4 MiB buffer (glibc would then raise its mapping threshold past 2 MiB), then counts
# the mappings a new 2 MiB buffer adds: 1 when it gets a mapping of its own, 0 from the heap.
PROBE = """
import ctypes, sys
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    from marketo_sync.sync.memory import return_large_buffers_to_the_os
    assert return_large_buffers_to_the_os()
big = bytearray(4 << 20)
del big
before = libc.mallinfo2().hblks
second = bytearray(2 << 20)
print(libc.mallinfo2().hblks - before)
"""


def new_mappings(mode: str) -> int:
    done = subprocess.run(  # noqa: S603 - the test's own interpreter and probe
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_a_freed_page_buffer_no_longer_moves_later_ones_onto_the_heap():
    assert new_mappings("default") == 0  # glibc's own behaviour, which grew the sync's memory
    assert new_mappings("fixed") == 1


def test_django_setup_fixes_the_threshold_for_every_process():
    probe = PROBE.replace('if sys.argv[1] == "fixed":', 'import django; django.setup()\nif False:')
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe, "django"], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == 1
