#!/usr/bin/env bash
# test_batch_cli.sh - the batch forms of `dpsim compare`, feature files
# (`dpsim features`, `dpsim index`), `dpsim search` and --maps, on generated
# 64x64 images and the real SqueezeNet: pairing rules, extraction counts,
# all-pairs symmetry, one-vs-many = pairwise, bit-exact feature files and
# their refusal under other settings, --jobs invariance, atomic outputs, and
# CSV/JSON checked by parsing. Usage: test_batch_cli.sh DPSIM_BINARY
set -u
DPSIM_TEST_NAME=batch
. "$(dirname "$0")/harness.sh"
if ! "$DPSIM" compare -q "$SRC/examples/ref.png" "$SRC/examples/blur.png" >/dev/null 2>&1; then
    echo "the SqueezeNet and LPIPS weights are not found (set DPSIM_WEIGHTS): skipped"
    exit 77
fi
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }

# check NAME -- command...: the command must succeed
check() {
    local name=$1
    shift 2
    if "$@"; then ok; else bad "$name"; fi
}

# ---- images: A/ and B/ with nested folders, one file without partner ----
python3 - "$TMP" <<'PY' || { echo "image generation failed"; exit 1; }
import os, random, struct, sys, zlib
root = sys.argv[1]
def png(path, w, h, seed, base=None, noise=0):
    rnd = random.Random(seed)
    rows = []
    px = []
    for y in range(h):
        row = []
        for x in range(w):
            if base is None:
                v = [(x * 4 + rnd.randrange(40)) % 256, (y * 4 + rnd.randrange(40)) % 256,
                     ((x ^ y) * 8 + seed * 37) % 256]
            else:
                v = [min(255, max(0, c + rnd.randrange(-noise, noise + 1))) for c in base[y][x]]
            row.append(v)
        px.append(row)
        rows.append(b"\0" + bytes(c for p in row for c in p))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    return px
for i, name in enumerate(["x.png", "y.png", "sub/z.png", "sub/deep/w.png"]):
    base = png(f"{root}/A/{name}", 64, 64, i + 1)
    png(f"{root}/B/{name}", 64, 64, 100 + i, base, 12 + 6 * i)
png(f"{root}/A/only_a.png", 64, 64, 9)
png(f"{root}/big/wide.png", 80, 64, 11)
open(f"{root}/A/notes.txt", "w").write("not an image, ignored by the folder walk\n")
PY
A=$TMP/A B=$TMP/B
# B without the unmatched file, for the clean runs
mkdir -p "$TMP/A4" && cp -r "$A/x.png" "$A/y.png" "$A/sub" "$TMP/A4/"

# ---- usage errors (exit 2) ----
expect 2 "--ref, --all-pairs and --pairs exclude" -- "$DPSIM" compare --ref "$A/x.png" --all-pairs "$B"
expect 2 "--matrix needs --all-pairs" -- "$DPSIM" compare --matrix "$A" "$B"
expect 2 "are for the batch forms" -- "$DPSIM" compare -o "$TMP/o" "$A/x.png" "$B/x.png"
expect 2 "are for a single pair" -- "$DPSIM" compare --map m.png "$A" "$B"
expect 2 "--size WxH" -- "$DPSIM" compare --resize "$A" "$B"
expect 2 "--jobs '0'" -- "$DPSIM" compare --jobs 0 "$A" "$B"
expect 2 "--size '0x4'" -- "$DPSIM" compare --size 0x4 "$A" "$B"
expect 2 "no spatial term" -- "$DPSIM" compare --method mean --maps "$TMP/m" "$A" "$B"
expect 2 "-o FILE is required" -- "$DPSIM" features "$A/x.png"
expect 2 "expected one folder" -- "$DPSIM" index -o "$TMP/i.dpf" "$A/x.png"
expect 2 "expected a query and a database" -- "$DPSIM" search "$A/x.png"
expect 0 "--all-pairs" -- "$DPSIM" compare --help
expect 0 "examples:" -- "$DPSIM" search --help
expect 0 "doc/FEATURES.md" -- "$DPSIM" index --help

# ---- pairing two folders ----
expect 1 "'only_a.png' is only in the first input" -- "$DPSIM" compare -q "$A" "$B"
"$DPSIM" compare -q --keep-going --csv --per-layer "$A" "$B" >"$TMP/pairs.csv" 2>"$TMP/err"
[ $? -eq 1 ] && ok || bad "--keep-going with an unmatched file must exit 1"
grep -q "only_a.png" "$TMP/err" && ok || bad "unmatched file not reported: $(cat "$TMP/err")"
python3 - "$TMP/pairs.csv" <<'PY' && ok || bad "pairs csv: $(cat "$TMP/pairs.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:3] == ["a", "b", "distance"] and rows[0][3:] == ["features.%d" % i for i in (1, 4, 7, 9, 10, 11, 12)], rows[0]
names = [r[0] for r in rows[1:]]
assert names == sorted(names) == ["sub/deep/w.png", "sub/z.png", "x.png", "y.png"], names
for r in rows[1:]:
    assert r[0] == r[1]
    d, taps = float(r[2]), [float(v) for v in r[3:]]
    assert d > 0 and abs(sum(taps) - d) <= 1e-6 * d, r
# more noise -> larger distance (noise 12, 18, 24, 30 for x, y, sub/z, sub/deep/w)
by = {r[0]: float(r[2]) for r in rows[1:]}
assert by["x.png"] < by["y.png"] < by["sub/z.png"] < by["sub/deep/w.png"], by
PY
"$DPSIM" compare -q --json -v "$TMP/A4" "$B" >"$TMP/pairs.json" 2>"$TMP/err" && ok || bad "folder pairs: $(cat "$TMP/err")"
grep -q "8 feature extractions for 8 images, 4 pairs" "$TMP/err" && ok || bad "pairs extraction count: $(cat "$TMP/err")"
python3 - "$TMP/pairs.json" <<'PY' && ok || bad "pairs json"
import json, sys, statistics
j = json.load(open(sys.argv[1]))
assert j["mode"] == "pairs" and j["extractions"] == 8 and j["unmatched"] == 0 and j["failed"] == []
d = [p["distance"] for p in j["pairs"]]
s = j["summary"]
assert s["count"] == 4 and abs(s["mean"] - statistics.fmean(d)) < 1e-15
assert abs(s["std"] - statistics.pstdev(d)) < 1e-12 and s["min"] == min(d) and s["max"] == max(d)
assert abs(s["harmonic_mean"] - (len(d) / sum(1 / (1 + x) for x in d) - 1)) < 1e-15
assert "squeezenet1_1" in j["provenance"]
PY

# ---- one reference against many = pairwise ----
"$DPSIM" compare -q --ref "$A/x.png" "$TMP/A4" >"$TMP/ref.txt" && ok || bad "--ref"
while read -r d a b; do
    [ "$d" = "#" ] && continue
    single=$("$DPSIM" compare -q "$A/x.png" "$TMP/A4/$b")
    [ "$single" = "$d" ] && ok || bad "--ref $b: $d, single pair $single"
done <"$TMP/ref.txt"
[ "$(grep -vc '^#' "$TMP/ref.txt")" -eq 4 ] && ok || bad "--ref rows: $(cat "$TMP/ref.txt")"

# ---- all pairs: N extractions, N(N-1)/2 distances, symmetric ----
"$DPSIM" compare -v --all-pairs --json "$A" >"$TMP/all.json" 2>"$TMP/err" && ok || bad "all-pairs: $(cat "$TMP/err")"
grep -q "5 feature extractions for 5 images, 10 pairs" "$TMP/err" && ok || bad "all-pairs count: $(cat "$TMP/err")"
"$DPSIM" compare -q --all-pairs --matrix --csv "$A" >"$TMP/matrix.csv" && ok || bad "matrix"
"$DPSIM" compare -q --all-pairs --matrix --json "$A" >"$TMP/matrix.json" && ok || bad "matrix json"
python3 - "$TMP/all.json" "$TMP/matrix.csv" "$TMP/matrix.json" <<'PY' && ok || bad "all-pairs/matrix"
import csv, json, sys
j = json.load(open(sys.argv[1]))
assert j["extractions"] == 5 and len(j["pairs"]) == 10
names = ["only_a.png", "sub/deep/w.png", "sub/z.png", "x.png", "y.png"]
assert [(p["a"], p["b"]) for p in j["pairs"]] == [(names[i], names[k]) for i in range(5) for k in range(i + 1, 5)]
rows = list(csv.reader(open(sys.argv[2], newline="")))
assert rows[0] == ["name"] + names and [r[0] for r in rows[1:]] == names
m = [[float(v) for v in r[1:]] for r in rows[1:]]
for i in range(5):
    assert m[i][i] == 0
    for k in range(5):
        assert m[i][k] == m[k][i]
mj = json.load(open(sys.argv[3]))
assert mj["names"] == names
for p in j["pairs"]:
    i, k = names.index(p["a"]), names.index(p["b"])
    assert mj["matrix"][i][k] == mj["matrix"][k][i] == p["distance"]
    assert abs(m[i][k] - p["distance"]) <= 1e-8 * p["distance"]
PY
# several inputs: names carry their folder, so equal relative paths stay apart
"$DPSIM" compare -q --all-pairs --csv "$TMP/A4" "$B" >"$TMP/all2.csv" && ok || bad "all-pairs of two folders"
python3 - "$TMP/all2.csv" "$TMP/A4" "$B" <<'PY' && ok || bad "all-pairs names: $(head -3 "$TMP/all2.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
names = {n for r in rows for n in r[:2]}
assert len(rows) == 28 and len(names) == 8
assert sys.argv[2] + "/x.png" in names and sys.argv[3] + "/x.png" in names
PY
# symmetry and one-vs-many against all-pairs, exactly (JSON keeps every bit)
"$DPSIM" compare -q --json --ref "$A/y.png" "$A/x.png" >"$TMP/yx.json"
"$DPSIM" compare -q --json --ref "$A/x.png" "$A/y.png" >"$TMP/xy.json"
python3 - "$TMP/yx.json" "$TMP/xy.json" "$TMP/all.json" <<'PY' && ok || bad "symmetry"
import json, sys
yx, xy, allp = (json.load(open(p)) for p in sys.argv[1:4])
d = {(p["a"], p["b"]): p["distance"] for p in allp["pairs"]}
assert yx["pairs"][0]["distance"] == xy["pairs"][0]["distance"] == d[("x.png", "y.png")]
PY

# ---- --jobs: identical output ----
"$DPSIM" compare -q --all-pairs --json -j 1 "$A" >"$TMP/j1.json"
"$DPSIM" compare -q --all-pairs --json -j 3 "$A" >"$TMP/j3.json"
check "--jobs 3 all-pairs output differs" -- cmp -s "$TMP/j1.json" "$TMP/j3.json"
"$DPSIM" compare -q --per-layer --csv -j 1 "$TMP/A4" "$B" >"$TMP/p1.csv"
"$DPSIM" compare -q --per-layer --csv -j 4 "$TMP/A4" "$B" >"$TMP/p4.csv"
check "--jobs 4 folder pairs output differs" -- cmp -s "$TMP/p1.csv" "$TMP/p4.csv"

# ---- --threads (the library's worker pool): identical output ----
"$DPSIM" compare -q --all-pairs --json --threads 1 "$A" >"$TMP/t1.json"
"$DPSIM" compare -q --all-pairs --json --threads 3 -j 1 "$A" >"$TMP/t3.json"
check "--threads 3 all-pairs output differs" -- cmp -s "$TMP/t1.json" "$TMP/t3.json"
"$DPSIM" compare --threads 1 "$EX/ref.png" "$EX/blur.png" >"$TMP/s1.txt"
"$DPSIM" compare --threads 4 "$EX/ref.png" "$EX/blur.png" >"$TMP/s4.txt"
check "--threads 4 single pair differs" -- cmp -s "$TMP/s1.txt" "$TMP/s4.txt"
expect 2 "--threads '0'" -- "$DPSIM" compare --threads 0 "$A" "$B"

# ---- manifest ----
mkdir -p "$TMP/man"
printf 'a,b\n../A/x.png,../B/x.png\n"../A/sub/z.png","../B/sub/z.png"\n../A/x.png,../A/y.png\n' >"$TMP/man/pairs.csv"
"$DPSIM" compare -v --pairs "$TMP/man/pairs.csv" --csv >"$TMP/man.csv" 2>"$TMP/err" && ok || bad "manifest: $(cat "$TMP/err")"
grep -q "5 feature extractions for 5 images, 3 pairs" "$TMP/err" && ok || bad "manifest count: $(cat "$TMP/err")"
python3 - "$TMP/man.csv" "$("$DPSIM" compare -q "$A/x.png" "$A/y.png")" <<'PY' && ok || bad "manifest csv"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) == 4 and rows[3][2] == sys.argv[2], rows
PY
printf 'x.png\n' >"$TMP/man/bad.csv"
expect 1 "line 1: 'x.png', expected two columns" -- "$DPSIM" compare --pairs "$TMP/man/bad.csv"

# ---- unreadable image: stop, or --keep-going and exit 1 ----
mkdir -p "$TMP/C" && cp "$A/x.png" "$A/y.png" "$A/only_a.png" "$TMP/C/" && printf 'junk' >"$TMP/C/broken.png"
expect 1 "broken.png" -- "$DPSIM" compare -q --all-pairs -o "$TMP/c.json" "$TMP/C"
[ ! -e "$TMP/c.json" ] && ok || bad "a failed run wrote its output file"
"$DPSIM" compare -q --all-pairs --keep-going --json -o "$TMP/c.json" "$TMP/C" 2>"$TMP/err"
[ $? -eq 1 ] && ok || bad "--keep-going with a broken image must exit 1"
grep -q "broken.png" "$TMP/err" && ok || bad "broken image not named: $(cat "$TMP/err")"
python3 - "$TMP/c.json" <<'PY' && ok || bad "keep-going json"
import json, sys
j = json.load(open(sys.argv[1]))
assert len(j["pairs"]) == 3 and len(j["failed"]) == 3
assert all("broken.png" in (f["a"], f["b"]) and "broken.png" in f["error"] for f in j["failed"])
PY
ls "$TMP"/c.json.tmp-* >/dev/null 2>&1 && bad "temporary file left" || ok

# ---- atomic -o: killed mid-run, the old file stays and no temporary remains ----
mkdir -p "$TMP/F" && cp "$A/x.png" "$A/y.png" "$TMP/F/" && mkfifo "$TMP/F/z.png"
echo old >"$TMP/out.csv"
"$DPSIM" compare -q --all-pairs --csv -o "$TMP/out.csv" "$TMP/F" 2>/dev/null &
pid=$!
sleep 1 # the run now waits on the FIFO, mid-extraction
kill -9 "$pid" 2>/dev/null && ok || bad "the run ended before it could be killed"
wait "$pid" 2>/dev/null
[ "$(cat "$TMP/out.csv")" = old ] && ok || bad "a killed run changed the output file"
ls "$TMP"/out.csv.tmp-* >/dev/null 2>&1 && bad "killed run left a temporary" || ok
rm -f "$TMP/F/z.png"
"$DPSIM" compare -q --all-pairs --csv -o "$TMP/out.csv" "$TMP/F" && ok || bad "-o run"
[ "$(head -1 "$TMP/out.csv" | tr -d '\r')" = "a,b,distance" ] && ok || bad "-o content: $(cat "$TMP/out.csv")"

# ---- feature files ----
"$DPSIM" index -q -v -o "$TMP/A.dpf" "$A" 2>"$TMP/err" && ok || bad "index: $(cat "$TMP/err")"
grep -q "5 feature extractions, 5 of 5 images saved" "$TMP/err" && ok || bad "index count: $(cat "$TMP/err")"
"$DPSIM" index -q -j 3 -o "$TMP/A3.dpf" "$A" && ok || bad "index -j 3"
check "index -j 3 differs from -j 1" -- cmp -s "$TMP/A.dpf" "$TMP/A3.dpf"
expect 1 "broken.png" -- "$DPSIM" index -q -j 2 -o "$TMP/C.dpf" "$TMP/C"
[ ! -e "$TMP/C.dpf" ] && ok || bad "a failed index wrote its file"
expect 1 "3 of 4 images saved" -- "$DPSIM" index -q -v -j 2 --keep-going -o "$TMP/C.dpf" "$TMP/C"
expect 0 "0 feature extractions for 3 images, 3 pairs" -- "$DPSIM" compare -v --all-pairs "$TMP/C.dpf"
"$DPSIM" features -q -o "$TMP/copy.dpf" "$TMP/A.dpf" && ok || bad "features copy"
check "a feature file read and written again differs" -- cmp -s "$TMP/A.dpf" "$TMP/copy.dpf"
head -c 8 "$TMP/A.dpf" | grep -q DPSIMFEA && ok || bad "magic"
"$DPSIM" compare -q -v --all-pairs --json "$TMP/A.dpf" >"$TMP/allf.json" 2>"$TMP/err"
grep -q "0 feature extractions" "$TMP/err" && ok || bad "features file still extracted: $(cat "$TMP/err")"
python3 - "$TMP/all.json" "$TMP/allf.json" <<'PY' && ok || bad "all-pairs from features differs from images"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["pairs"] == b["pairs"] and a["summary"] == b["summary"]
PY
"$DPSIM" index -q -o "$TMP/B.dpf" "$B"
"$DPSIM" compare -q --per-layer --csv "$TMP/A4" "$TMP/B.dpf" >"$TMP/pf.csv" && ok || bad "folder vs features"
check "folder vs features differs from folder vs folder" -- cmp -s "$TMP/p1.csv" "$TMP/pf.csv"
expect 1 "made with per-channel weights" -- "$DPSIM" compare --no-lin --all-pairs "$TMP/A.dpf"
expect 1 "made with taps=1,4,7,9,10,11,12, this model uses taps=1,4" -- "$DPSIM" compare --no-lin --taps 1,4 --all-pairs "$TMP/A.dpf"
expect 1 "made with images at their own size, this run uses size=64x64" -- "$DPSIM" compare --size 64 --all-pairs "$TMP/A.dpf"
head -c 3000 "$TMP/A.dpf" >"$TMP/cut.dpf"
expect 1 "cut.dpf': truncated" -- "$DPSIM" compare --all-pairs "$TMP/cut.dpf"
# a manifest entry FILE:NAME is a feature-file record
printf '../A.dpf:x.png,../B/x.png\n"../A.dpf:sub/z.png",../B/sub/z.png\n../A.dpf:x.png,../A/y.png\n' >"$TMP/man/rec.csv"
"$DPSIM" compare -v --pairs "$TMP/man/rec.csv" --csv >"$TMP/manrec.csv" 2>"$TMP/err" && ok || bad "manifest records: $(cat "$TMP/err")"
grep -q "3 feature extractions for 5 images, 3 pairs" "$TMP/err" && ok || bad "manifest records count: $(cat "$TMP/err")"
python3 - "$TMP/man.csv" "$TMP/manrec.csv" <<'PY' && ok || bad "manifest records differ from images"
import csv, sys
a, b = (list(csv.reader(open(p, newline="")))[1:] for p in sys.argv[1:3])
assert [r[2] for r in a] == [r[2] for r in b] and b[0][0].endswith("A.dpf:x.png")
PY
printf '../A.dpf:nope.png,../B/x.png\n' >"$TMP/man/norec.csv"
expect 1 "feature file has no record 'nope.png'" -- "$DPSIM" compare --pairs "$TMP/man/norec.csv"
"$DPSIM" features -q -o "$TMP/two.dpf" "$A/x.png" "$A/y.png" && ok || bad "features"
expect 1 "--ref '.*two.dpf': holds 2 images, expected one" -- "$DPSIM" compare --ref "$TMP/two.dpf" "$A/x.png"
"$DPSIM" features -q -o "$TMP/one.dpf" "$A/x.png"
[ "$("$DPSIM" compare -q --ref "$TMP/one.dpf" "$A/y.png" | head -1)" = \
  "$("$DPSIM" compare -q "$A/x.png" "$A/y.png")  $A/x.png  $A/y.png" ] && ok || bad "--ref from a feature file"

# ---- search ----
"$DPSIM" search -q --csv "$A/x.png" "$A" >"$TMP/s.csv" && ok || bad "search"
"$DPSIM" search -q --csv "$A/x.png" "$TMP/A.dpf" >"$TMP/sf.csv" && ok || bad "search features"
check "search over features differs from search over images" -- cmp -s "$TMP/s.csv" "$TMP/sf.csv"
python3 - "$TMP/s.csv" "$TMP/all.json" <<'PY' && ok || bad "search csv: $(cat "$TMP/s.csv")"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["rank", "name", "distance"] and len(rows) == 6
assert rows[1][1] == "x.png" and float(rows[1][2]) == 0.0
d = [float(r[2]) for r in rows[1:]]
assert d == sorted(d) and [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
pairs = {frozenset((p["a"], p["b"])): p["distance"] for p in json.load(open(sys.argv[2]))["pairs"]}
for r in rows[2:]:
    assert abs(float(r[2]) - pairs[frozenset(("x.png", r[1]))]) <= 1e-8 * float(r[2])
PY
[ "$("$DPSIM" search -q -k 2 "$A/x.png" "$A" | wc -l)" -eq 2 ] && ok || bad "search -k 2"
# features do not depend on the method: a --no-lin index serves --method mean
"$DPSIM" index -q --no-lin -o "$TMP/An.dpf" "$A"
"$DPSIM" search -q --json --no-lin --method mean "$A/x.png" "$TMP/An.dpf" "$B" >"$TMP/s.json" && ok || bad "search mean"
"$DPSIM" search -q --json --no-lin --method mean "$A/x.png" "$A" "$B" >"$TMP/s2.json" && ok || bad "search mean images"
python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); assert [r["distance"] for r in a["results"]] == [r["distance"] for r in b["results"]] and b["extractions"] == 10; assert a["results"][0]["name"].endswith("An.dpf:x.png") and b["results"][1]["name"].endswith("B/x.png")' "$TMP/s.json" "$TMP/s2.json" && ok || bad "search mean over features differs from images"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert len(j["results"]) == 9 and j["searched"] == 9 and j["results"][0]["distance"] == 0 and j["extractions"] == 5' "$TMP/s.json" && ok || bad "search mean json: $(cat "$TMP/s.json")"
expect 1 "sizes differ" -- "$DPSIM" search -q "$A/x.png" "$TMP/big" "$A"
expect 1 "" -- "$DPSIM" search -q --keep-going "$A/x.png" "$TMP/big" "$A"
expect 0 "wide.png" -- "$DPSIM" search -q --size 64 "$A/x.png" "$TMP/big" "$A"
expect 0 "wide.png" -- "$DPSIM" search -q --no-lin --method mean "$A/x.png" "$TMP/big" "$A"
expect 0 "wide.png" -- "$DPSIM" search -q --no-lin --method gram "$A/x.png" "$TMP/big" "$A"

# ---- progress bar: on a terminal only, not with --quiet ----
if command -v script >/dev/null; then
    script -qc "'$DPSIM' compare --all-pairs -o '$TMP/tty.csv' --csv '$A'" "$TMP/tty.log" >/dev/null 2>&1
    grep -q "15/15 steps .*/s .*left" "$TMP/tty.log" && ok || bad "no progress bar on a terminal: $(cat -v "$TMP/tty.log")"
    script -qc "'$DPSIM' compare -q --all-pairs -o '$TMP/tty.csv' --csv '$A'" "$TMP/tty.log" >/dev/null 2>&1
    grep -q "steps" "$TMP/tty.log" && bad "progress bar with --quiet" || ok
fi
"$DPSIM" compare --all-pairs --csv "$A" 2>"$TMP/err" >/dev/null
grep -q "steps" "$TMP/err" && bad "progress bar when stderr is not a terminal" || ok

# ---- heatmaps per pair ----
"$DPSIM" compare -q --json --maps "$TMP/maps" "$TMP/A4" "$B" >"$TMP/maps.json" && ok || bad "--maps"
python3 - "$TMP/maps.json" <<'PY' && ok || bad "maps"
import json, os, sys
j = json.load(open(sys.argv[1]))
paths = [p["map"] for p in j["pairs"]]
assert len(paths) == 4 and len(set(paths)) == 4
for p in paths:
    assert os.path.basename(p)[:7] in ("000001-", "000002-", "000003-", "000004-")
    assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
PY

finish
