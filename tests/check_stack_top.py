#!/usr/bin/python3
"""check_stack_top.py OUTPUT BINARY FUNCTION: OUTPUT is what a TELEMETRY_DEBUG=1 run printed; its
error event's newest frame (the last one), stepped back one byte as Sentry does for "all", lies in
FUNCTION of BINARY (from `nm -S`), and no frame lies in a telemetry function. Exit 1 if not."""
import json
import subprocess
import sys

out, binary, function = sys.argv[1], sys.argv[2], sys.argv[3]
event = None
for line in open(out, errors="replace"):
    if line.startswith("{") and '"exception"' in line:
        event = json.loads(line)
        break
if event is None:
    sys.exit("no error event in the output")
syms = {}
for line in subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW":
        syms.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
loads = [int(l.split()[2], 16) for l in subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                                                       check=True).stdout.splitlines() if l.strip().startswith("LOAD")]
exc = event["exception"]["values"][0]
frames = exc["stacktrace"]["frames"]
assert exc["stacktrace"].get("instruction_addr_adjustment") == "all"
image = [i for i in event["debug_meta"]["images"] if i["code_file"].endswith(binary.split("/")[-1])][0]


def name_of(addr):
    a = addr - int(image["image_addr"], 16) + min(loads) - 1
    for n, (v, s) in syms.items():
        if v <= a < v + s:
            return n
    return None


names = [name_of(int(f["instruction_addr"], 16)) for f in frames]
print("frames, newest last:", names)
if names[-1] != function:
    sys.exit("the newest frame is %s, not %s" % (names[-1], function))
if any(n and n.startswith("telemetry") for n in names):
    sys.exit("a library frame is in the stack")
print("ok")
