// The AssemblyScript example of a WASM consumer. For each event (a
// structured CloudEvent, JSON) it emits
//   {"source_id":"<id>","type":"<type>","bytes":<size>,"guest":"assemblyscript"}
// Build: npx asc assembly/index.ts --runtime stub --exportRuntime -O3 --noAssert -o guest.wasm
//
// It allocates nothing per event: the input goes to a static buffer (or a
// larger one kept for the next event) and the output is built in another,
// so the stub runtime's never-freeing heap does not grow.

@external("env", "emit")
declare function emit(ptr: usize, len: i32): i32;

const CAP: i32 = 1 << 16;
const IN: usize = memory.data(1 << 16);
const OUT: usize = memory.data(1024);
const MAX_VALUE: i32 = 256;

let big: usize = 0;
let bigCap: i32 = 0;

export function alloc(size: i32): usize {
  if (size <= CAP) return IN;
  if (size > bigCap) {
    big = heap.alloc(<usize>size);
    bigCap = size;
  }
  return big;
}

let outLen: i32 = 0;

function put(s: string): void {
  for (let i = 0; i < s.length; i++) {
    store<u8>(OUT + <usize>outLen, <u8>s.charCodeAt(i));
    outLen++;
  }
}

function putBytes(ptr: usize, n: i32): void {
  memory.copy(OUT + <usize>outLen, ptr, <usize>n);
  outLen += n;
}

function putInt(v: i32): void {
  if (v >= 10) putInt(v / 10);
  store<u8>(OUT + <usize>outLen, <u8>(48 + v % 10));
  outLen++;
}

// valueOf finds "key":"value" in the n bytes at ptr and returns the start
// of value (and sets found to its length), or 0.
let found: i32 = 0;

function valueOf(ptr: usize, n: i32, key: string): usize {
  const k = key.length;
  for (let i = 0; i + k + 3 < n; i++) {
    if (load<u8>(ptr + <usize>i) != 34) continue; // '"'
    let j = 0;
    while (j < k && load<u8>(ptr + <usize>(i + 1 + j)) == <u8>key.charCodeAt(j)) j++;
    if (j < k || load<u8>(ptr + <usize>(i + 1 + k)) != 34) continue;
    let p = i + k + 2;
    while (p < n && (load<u8>(ptr + <usize>p) == 32 || load<u8>(ptr + <usize>p) == 58)) p++; // spaces, ':'
    if (p >= n || load<u8>(ptr + <usize>p) != 34) continue;
    const start = p + 1;
    let end = start;
    while (end < n && load<u8>(ptr + <usize>end) != 34) end++;
    found = min(end - start, MAX_VALUE);
    return ptr + <usize>start;
  }
  found = 0;
  return 0;
}

export function handle(ptr: usize, n: i32): i32 {
  outLen = 0;
  put('{"source_id":"');
  const id = valueOf(ptr, n, "id");
  putBytes(id, found);
  put('","type":"');
  const typ = valueOf(ptr, n, "type");
  putBytes(typ, found);
  put('","bytes":');
  putInt(n);
  put(',"guest":"assemblyscript"}');
  return emit(OUT, outLen) == 0 ? 0 : 2;
}
