"""Buckets `perf script -F tid,ip,sym,dso` output of one client process by the first frame outside the kernel and libc.

Usage: perf script --pid PID -F tid,ip,sym,dso > client.stacks && python3 perf-buckets.py client.stacks
Needs a run with the harness's `perfmap` variant (perf map, W^X off, standalone GC library), so that JIT-compiled
frames have names and the GC's samples land in libclrgc*.so instead of libcoreclr.so.
"""
import collections
import re
import sys

FRAME = re.compile(r'\s*[0-9a-f]+ (.*) \((.*)\)$')
NATIVE_PLUMBING = ('[kernel.kallsyms]', 'libc.so.6', 'ld-linux-x86-64.so.2')


def parse(line):
    m = FRAME.match(line)
    return (m.group(1), m.group(2).split('/')[-1]) if m else None


def managed_bucket(sym, dso):
    if 'System.Text.Json' in sym or dso == 'System.Text.Json.dll':
        return 'System.Text.Json (reader, converters, JsonDocument)'
    if '[KubernetesClient]' in sym or 'k8s.' in sym or 'Fractions' in sym:
        return 'KubernetesClient types/converters'
    if '[KubeConsistency' in sym and 'Benchmarks' not in sym:
        return 'KubeConsistency (list decoder, FIFO, store)'
    if 'System.Net' in sym or dso.startswith('System.Net'):
        return 'HTTP/sockets'
    return 'other managed (BCL)'


def bucket(sym, dso):
    if dso.startswith('libclrgc'):
        return 'GC (collector)', False
    if dso == 'libclrjit.so':
        return 'JIT', False
    if dso == 'libSystem.IO.Compression.Native.so' or 'System.IO.Compression' in sym:
        return 'gzip inflate', False
    if dso == 'libcoreclr.so':
        return 'runtime (allocation helpers, type loading, stubs)', False
    return managed_bucket(sym, dso), True


def main(path):
    buckets, in_kernel, managed = collections.Counter(), collections.Counter(), collections.Counter()
    samples = 0
    for block in open(path).read().split('\n\n'):
        frames = [f for f in (parse(l) for l in block.split('\n')[1:] if l.strip()) if f]
        if not frames:
            continue
        samples += 1
        name = 'kernel/libc only (idle, syscalls)'
        for sym, dso in frames:
            if dso in NATIVE_PLUMBING:
                continue
            name, is_managed = bucket(sym, dso)
            if is_managed:
                managed[(name, re.sub(r'\[.*?\]', '', sym)[:120])] += 1
            break
        buckets[name] += 1
        if frames[0][1] == '[kernel.kallsyms]':
            in_kernel[name] += 1

    print(f"samples {samples}")
    print("| bucket (first non-kernel frame) | share | of which in kernel (page faults) |")
    print("|---|---:|---:|")
    for name, count in buckets.most_common():
        print(f"| {name} | {count * 100 / samples:.1f} % | {in_kernel[name] * 100 / samples:.1f} % |")
    print()
    for key, count in managed.most_common(25):
        print(f"{count * 100 / samples:5.1f}% {key}")


if __name__ == '__main__':
    main(sys.argv[1])
