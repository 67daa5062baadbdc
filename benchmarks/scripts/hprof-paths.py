#!/usr/bin/env python3
"""What keeps objects of a class alive, from a heap dump (Python 3 standard library only).

  hprof-paths.py HEAP.hprof CLASS [MAX]
      CLASS in dotted form (nested classes with $), e.g. dev.tether.core.internal.ServerSession.
      Prints how many instances the dump holds, the fields and arrays that refer to them (counted
      over every instance), and for up to MAX instances (default 1) one chain of references from
      an object nothing else in the dump refers to (in practice a GC root: a thread, a class's
      statics, a JNI handle) down to the instance.

Take the dump of live objects only: `jcmd PID GC.heap_dump FILE` (it collects first). How this found
that every ended session stayed reachable for two minutes: benchmarks/README.md, "One server,
looked into". Reads HPROF 1.0.2 as HotSpot writes it; instance fields are read with the class
layouts in the dump, so field names are exact.
"""
import struct
import sys
from collections import Counter, defaultdict, deque

# HPROF basic types: 2 = object, 4 boolean, 5 char, 6 float, 7 double, 8 byte, 9 short, 10 int, 11 long
_SIZES = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}
# Root sub-records: tag -> bytes after the object id (with 'id' for one more identifier)
_ROOTS = {0xff: 0, 0x01: 'id', 0x02: 8, 0x03: 8, 0x04: 4, 0x05: 0, 0x06: 4, 0x07: 0, 0x08: 8,
          0x89: 0, 0x8a: 0, 0x8b: 0, 0x8c: 0, 0x8d: 0, 0x8e: 8, 0x90: 0}


class Heap:
    def __init__(self, path):
        data = open(path, 'rb').read()
        p = data.index(b'\0') + 1
        self.idsize = idsize = struct.unpack('>I', data[p:p + 4])[0]
        p += 12
        self.data = data
        sizes = {**_SIZES, 2: idsize}
        strings, self.names, self.classes, self.instances, self.arrays = {}, {}, {}, {}, {}
        ident = self.ident
        while p < len(data):
            tag = data[p]
            length = struct.unpack('>I', data[p + 5:p + 9])[0]
            body, end = p + 9, p + 9 + length
            if tag == 0x01:  # UTF8
                strings[ident(body)] = data[body + idsize:end].decode('utf-8', 'replace')
            elif tag == 0x02:  # LOAD CLASS
                self.names[ident(body + 4)] = strings.get(ident(body + 8 + idsize), '?').replace('/', '.')
            elif tag in (0x0c, 0x1c):  # HEAP DUMP (SEGMENT)
                q = body
                while q < end:
                    sub = data[q]
                    q += 1
                    if sub in _ROOTS:
                        extra = _ROOTS[sub]
                        q += idsize + (idsize if extra == 'id' else extra)
                    elif sub == 0x20:  # CLASS DUMP
                        cid = ident(q)
                        q += idsize + 4
                        superclass = ident(q)
                        q += idsize * 6 + 4
                        n = struct.unpack('>H', data[q:q + 2])[0]
                        q += 2
                        for _ in range(n):  # constant pool: index, type, value
                            q += 2
                            q += 1 + sizes[data[q]]
                        n = struct.unpack('>H', data[q:q + 2])[0]
                        q += 2
                        for _ in range(n):  # static fields: name, type, value
                            q += idsize
                            q += 1 + sizes[data[q]]
                        n = struct.unpack('>H', data[q:q + 2])[0]
                        q += 2
                        fields = []
                        for _ in range(n):
                            fields.append((strings.get(ident(q), '?'), data[q + idsize]))
                            q += idsize + 1
                        self.classes[cid] = (superclass, fields)
                    elif sub == 0x21:  # INSTANCE DUMP
                        oid = ident(q)
                        cid = ident(q + idsize + 4)
                        n = struct.unpack('>I', data[q + 2 * idsize + 4:q + 2 * idsize + 8])[0]
                        q += 2 * idsize + 8
                        self.instances[oid] = (cid, q)
                        q += n
                    elif sub == 0x22:  # OBJECT ARRAY DUMP
                        oid = ident(q)
                        n = struct.unpack('>I', data[q + idsize + 4:q + idsize + 8])[0]
                        cid = ident(q + idsize + 8)
                        q += 2 * idsize + 8
                        self.arrays[oid] = (cid, q, n)
                        q += n * idsize
                    elif sub == 0x23:  # PRIMITIVE ARRAY DUMP
                        n = struct.unpack('>I', data[q + idsize + 4:q + idsize + 8])[0]
                        q += idsize + 9 + n * sizes[data[q + idsize + 8]]
                    else:
                        raise SystemExit(f'hprof-paths: unknown heap dump record 0x{sub:x} at byte {q}')
            p = end

    def ident(self, offset):
        return int.from_bytes(self.data[offset:offset + self.idsize], 'big')

    def name(self, oid):
        if oid in self.instances:
            return self.names.get(self.instances[oid][0], '?')
        return self.names.get(self.arrays[oid][0], '?') + '[]'

    def references(self, oid):
        """(field or [index], referenced id) of one instance or object array."""
        if oid in self.arrays:
            _, q, n = self.arrays[oid]
            return [('[]', self.ident(q + i * self.idsize)) for i in range(n)]
        cid, q = self.instances[oid]
        out = []
        while cid in self.classes:
            superclass, fields = self.classes[cid]
            for field, kind in fields:
                if kind == 2:
                    out.append((field, self.ident(q)))
                    q += self.idsize
                else:
                    q += _SIZES[kind]
            cid = superclass
        return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    heap = Heap(sys.argv[1])
    wanted, most = sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 1
    referrers = defaultdict(list)
    for oid in list(heap.instances) + list(heap.arrays):
        for field, target in heap.references(oid):
            if target:
                referrers[target].append((oid, field))
    found = sorted(o for o, (cid, _) in heap.instances.items() if heap.names.get(cid) == wanted)
    print(f'{len(found)} instances of {wanted}')
    counts = Counter()
    for oid in found:
        for holder, field in referrers.get(oid, []):
            counts[f'{heap.name(holder)}.{field}' if field != '[]' else heap.name(holder)] += 1
    for how, n in counts.most_common(20):
        print(f'  {n:8d}  referred to by {how}')
    for oid in found[:most]:
        # Breadth first towards the referrers: the first object nothing refers to ends the chain.
        came_from, queue, top = {oid: None}, deque([oid]), None
        while queue:
            current = queue.popleft()
            if not referrers.get(current):
                top = current
                break
            for holder, field in referrers[current]:
                if holder not in came_from:
                    came_from[holder] = (current, field)
                    queue.append(holder)
        if top is None:
            print(f'path to instance 0x{oid:x}: none (only cycles refer to it)')
            continue
        print(f'path to instance 0x{oid:x}, from {heap.name(top)}:')
        node = top
        while came_from[node] is not None:
            nxt, field = came_from[node]
            print(f'    {heap.name(node)}{"." + field if field != "[]" else ""}')
            node = nxt
        print(f'    -> {wanted}')


if __name__ == '__main__':
    main()
